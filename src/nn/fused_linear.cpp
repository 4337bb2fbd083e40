#include "jeffreys/nn/fused_linear.h"

#include "core/kernels.h"

#include <torch/torch.h>

#include <cstring>

namespace jeffreys::nn {

void silu_and_derivative(const float* x, float* y, float* d, int64_t n) { core::silu_and_derivative(x, y, d, n); }

void bias_silu_and_derivative(const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols) {
  core::bias_silu_and_derivative(x, bias, y, d, rows, cols);
}

namespace {

// a @ b through BLAS with beta = 1 onto a zeroed buffer: with beta = 0, OpenBLAS first clears the
// output in a pass of its own (sgemm_beta) that costs several times the memset.
torch::Tensor mm_onto_zeros(const torch::Tensor& a, const torch::Tensor& b) {
  auto out = torch::empty({a.size(0), b.size(1)}, a.options());
  std::memset(out.data_ptr<float>(), 0, sizeof(float) * static_cast<size_t>(out.numel()));
  out.addmm_(a, b);
  return out;
}

bool float_cpu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return x.dim() == 2 && x.scalar_type() == torch::kFloat && w.scalar_type() == torch::kFloat &&
         b.scalar_type() == torch::kFloat && x.device().is_cpu() && w.device().is_cpu() && b.device().is_cpu();
}

float* data_or_null(torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

void refuse_double_backward(const char* who) {
  // The backward passes below are not themselves differentiable; refuse rather than return wrong
  // second derivatives.
  TORCH_CHECK(!torch::GradMode::is_enabled(), who,
              ": double backward (create_graph=true) is not supported; build the network with MLPOptions::fused(false)");
}

class LinearSiLU : public torch::autograd::Function<LinearSiLU> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) {
    const int64_t rows = x.size(0), k = x.size(1), cols = w.size(0);
    auto bias = b.contiguous();
    auto d = torch::empty({rows, cols}, x.options());
    torch::Tensor y;
    if (k <= core::kSmallIn) {
      // x may be a column slice (a coupling's identity half): rows are read at its stride, no copy.
      y = torch::empty({rows, cols}, x.options());
      auto wt = w.t().contiguous();
      core::small_in_bias_silu(x.data_ptr<float>(), x.stride(0), k, wt.data_ptr<float>(), bias.data_ptr<float>(),
                               y.data_ptr<float>(), d.data_ptr<float>(), rows, cols);
    } else {
      // The bias is added inside the activation pass (addmm would first copy the broadcast bias
      // into the output, a full extra pass), and the activation overwrites the product it reads.
      y = mm_onto_zeros(x, w.t());
      bias_silu_and_derivative(y.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(), d.data_ptr<float>(),
                               rows, cols);
    }
    ctx->save_for_backward({x, w, d});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    refuse_double_backward("fused Linear+SiLU");
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    auto go = grads[0].contiguous();
    const auto& d = saved[2];
    const int64_t rows = d.size(0), cols = d.size(1), k = x.size(1);
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(2)) gb = torch::zeros({cols}, d.options());
    if (k <= core::kSmallIn) {
      // Everything in one pass, without BLAS (see core::small_in_silu_backward).
      auto wt = w.t().contiguous();
      torch::Tensor gwt;
      if (ctx->needs_input_grad(0)) gx = torch::empty({rows, k}, d.options());
      if (ctx->needs_input_grad(1)) gwt = torch::zeros({k, cols}, d.options());
      core::small_in_silu_backward(go.data_ptr<float>(), d.data_ptr<float>(), x.data_ptr<float>(), x.stride(0), k,
                                   wt.data_ptr<float>(), data_or_null(gx), data_or_null(gwt), data_or_null(gb), rows,
                                   cols);
      if (gwt.defined()) gw = gwt.t().contiguous();
      return {gx, gw, gb};
    }
    auto g = torch::empty_like(d);
    auto gb_sums = gb.defined() ? gb : torch::zeros({cols}, d.options());
    core::silu_grad_and_bias_grad(go.data_ptr<float>(), d.data_ptr<float>(), g.data_ptr<float>(),
                                  gb_sums.data_ptr<float>(), rows, cols);
    if (ctx->needs_input_grad(0)) gx = mm_onto_zeros(g, w);
    if (ctx->needs_input_grad(1)) gw = mm_onto_zeros(g.t(), x);
    return {gx, gw, gb};
  }
};

// A Linear layer with a few outputs (an MLP's last layer: a coupling's scale and shift, an energy's
// scalar): n dot products a row, where BLAS would spend more on the call than on the arithmetic.
class LinearNarrow : public torch::autograd::Function<LinearNarrow> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) {
    const int64_t rows = x.size(0), in = x.size(1), n = w.size(0);
    auto bias = b.contiguous();
    auto y = torch::empty({rows, n}, x.options());
    core::narrow_linear(x.data_ptr<float>(), w.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(), rows, in,
                        n);
    ctx->save_for_backward({x, w});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    refuse_double_backward("fused narrow Linear");
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    auto g = grads[0].contiguous();
    const int64_t rows = x.size(0), in = x.size(1), n = w.size(0);
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = torch::empty({rows, in}, x.options());
    if (ctx->needs_input_grad(1)) gw = torch::zeros({n, in}, x.options());
    if (ctx->needs_input_grad(2)) gb = torch::zeros({n}, x.options());
    core::narrow_linear_backward(g.data_ptr<float>(), x.data_ptr<float>(), w.data_ptr<float>(), data_or_null(gx),
                                 data_or_null(gw), data_or_null(gb), rows, in, n);
    return {gx, gw, gb};
  }
};

}  // namespace

torch::Tensor linear_activation(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                Activation activation, bool fused) {
  if (fused && activation == Activation::silu && float_cpu(x, weight, bias)) {
    const bool strided_ok = x.size(1) <= core::kSmallIn && x.stride(1) == 1 && x.stride(0) >= x.size(1);
    return LinearSiLU::apply(strided_ok ? x : x.contiguous(), weight.contiguous(), bias);
  }
  return activate(torch::addmm(bias, x, weight.t()), activation);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool fused) {
  if (fused && weight.size(0) <= core::kSmallOut && float_cpu(x, weight, bias))
    return LinearNarrow::apply(x.contiguous(), weight.contiguous(), bias);
  return torch::addmm(bias, x, weight.t());
}

}  // namespace jeffreys::nn
