#include "jeffreys/functional/affine.h"

#include <torch/torch.h>

namespace jeffreys::functional {
namespace {
torch::Tensor log_scale(const torch::Tensor& raw, double clamp) {
  if (clamp <= 0) return raw;
  if (clamp == 1.0) return torch::tanh(raw);
  return torch::tanh(raw / clamp) * clamp;
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> affine_forward(const torch::Tensor& x, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp) {
  auto s = log_scale(raw_log_scale, clamp);
  return {torch::addcmul(shift, x, torch::exp(s)), s};
}

std::pair<torch::Tensor, torch::Tensor> affine_inverse(const torch::Tensor& z, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp) {
  auto s = log_scale(raw_log_scale, clamp);
  return {(z - shift) * torch::exp(-s), -s};
}

}  // namespace jeffreys::functional

namespace jeffreys::functional {
namespace {

// s = c tanh(raw / c) and ds/draw = 1 - tanh²(raw / c); c <= 0 means s = raw.
template <typename T>
inline void clamp_log_scale(T raw, T c, T* s, T* ds) {
  if (c <= 0) {
    *s = raw;
    *ds = 1;
    return;
  }
  const T th = std::tanh(raw / c);
  *s = c * th;
  *ds = 1 - th * th;
}

class AffineCoupling : public torch::autograd::Function<AffineCoupling> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v_in,
                                                const torch::Tensor& p_in, int64_t start, int64_t size, double clamp,
                                                bool inverse) {
    auto v = v_in.contiguous();
    auto p = p_in.contiguous();
    auto out = v.clone();
    const int64_t B = v.size(0), D = v.size(1);
    auto ladj = torch::empty({B}, v.options());
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "affine_coupling_forward", [&] {
      const scalar_t* vp = v.data_ptr<scalar_t>();
      const scalar_t* pp = p.data_ptr<scalar_t>();
      scalar_t* op = out.data_ptr<scalar_t>();
      scalar_t* lp = ladj.data_ptr<scalar_t>();
      const scalar_t c = static_cast<scalar_t>(clamp);
      for (int64_t b = 0; b < B; ++b) {
        scalar_t sum = 0;
        for (int64_t j = 0; j < size; ++j) {
          scalar_t s, ds;
          clamp_log_scale(pp[b * 2 * size + j], c, &s, &ds);
          const scalar_t t = pp[b * 2 * size + size + j];
          const scalar_t x = vp[b * D + start + j];
          op[b * D + start + j] = inverse ? (x - t) * std::exp(-s) : x * std::exp(s) + t;
          sum += s;
        }
        lp[b] = inverse ? -sum : sum;
      }
    });
    ctx->save_for_backward({v, p});
    ctx->saved_data["start"] = start;
    ctx->saved_data["size"] = size;
    ctx->saved_data["clamp"] = clamp;
    ctx->saved_data["inverse"] = inverse;
    return {out, ladj};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& v = saved[0];
    const auto& p = saved[1];
    const int64_t start = ctx->saved_data["start"].toInt();
    const int64_t size = ctx->saved_data["size"].toInt();
    const double clamp = ctx->saved_data["clamp"].toDouble();
    const bool inverse = ctx->saved_data["inverse"].toBool();
    const int64_t B = v.size(0), D = v.size(1);
    auto g_out = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(v);
    auto g_ladj = grads[1].defined() ? grads[1].contiguous() : torch::zeros({B}, v.options());
    // Features outside the transformed block pass their gradient straight through.
    auto g_v = g_out.clone();
    auto g_p = torch::empty_like(p);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "affine_coupling_backward", [&] {
      const scalar_t* vp = v.data_ptr<scalar_t>();
      const scalar_t* pp = p.data_ptr<scalar_t>();
      const scalar_t* go = g_out.data_ptr<scalar_t>();
      const scalar_t* gl = g_ladj.data_ptr<scalar_t>();
      scalar_t* gv = g_v.data_ptr<scalar_t>();
      scalar_t* gp = g_p.data_ptr<scalar_t>();
      const scalar_t c = static_cast<scalar_t>(clamp);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < size; ++j) {
          scalar_t s, ds;
          clamp_log_scale(pp[b * 2 * size + j], c, &s, &ds);
          const scalar_t t = pp[b * 2 * size + size + j];
          const scalar_t x = vp[b * D + start + j];
          const scalar_t g = go[b * D + start + j];
          if (!inverse) {
            const scalar_t e = std::exp(s);
            gv[b * D + start + j] = g * e;
            gp[b * 2 * size + j] = (g * x * e + gl[b]) * ds;
            gp[b * 2 * size + size + j] = g;
          } else {
            const scalar_t e = std::exp(-s);
            gv[b * D + start + j] = g * e;
            gp[b * 2 * size + j] = (-g * (x - t) * e - gl[b]) * ds;
            gp[b * 2 * size + size + j] = -g * e;
          }
        }
      }
    });
    return {g_v, g_p, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> affine_coupling(const torch::Tensor& v, const torch::Tensor& params,
                                                        int64_t tr_start, int64_t tr_size, double clamp, bool inverse) {
  TORCH_CHECK(v.dim() == 2 && params.dim() == 2 && params.size(0) == v.size(0) && params.size(1) == 2 * tr_size,
              "affine_coupling: expected v [B, D] and params [B, ", 2 * tr_size, "], got ", v.sizes(), " and ",
              params.sizes());
  TORCH_CHECK(tr_start >= 0 && tr_size >= 1 && tr_start + tr_size <= v.size(1), "affine_coupling: bad block");
  TORCH_CHECK(v.device().is_cpu() && params.device().is_cpu() && v.scalar_type() == params.scalar_type(),
              "affine_coupling: CPU tensors of one dtype only (other devices use the composite transform)");
  auto r = AffineCoupling::apply(v, params, tr_start, tr_size, clamp, inverse);
  return {r[0], r[1]};
}

}  // namespace jeffreys::functional
