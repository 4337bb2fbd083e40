#include "jeffreys/nn/fused_linear.h"

#include "core/kernels.h"

#include <torch/torch.h>


namespace jeffreys::nn {

void silu_and_derivative(const float* x, float* y, float* d, int64_t n) { core::silu_and_derivative(x, y, d, n); }

void bias_silu_and_derivative(const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols) {
  core::bias_silu_and_derivative(x, bias, y, d, rows, cols);
}

namespace {

bool fusable(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, Activation a) {
  return a == Activation::silu && x.scalar_type() == torch::kFloat && w.scalar_type() == torch::kFloat &&
         b.scalar_type() == torch::kFloat && x.device().is_cpu() && w.device().is_cpu();
}

class LinearSiLU : public torch::autograd::Function<LinearSiLU> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) {
    // The bias is added inside the activation pass: addmm would first copy the broadcast bias
    // into the output, a full extra pass.
    auto pre = torch::mm(x, w.t());
    auto bias = b.contiguous();
    auto y = torch::empty_like(pre);
    auto d = torch::empty_like(pre);
    bias_silu_and_derivative(pre.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(), d.data_ptr<float>(),
                             pre.size(0), pre.size(1));
    ctx->save_for_backward({x, w, d});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    // The backward below is not itself differentiable; refuse rather than return wrong second derivatives.
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "fused Linear+SiLU: double backward (create_graph=true) is not supported; build the network with "
                "MLPOptions::fused(false)");
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    auto go = grads[0].contiguous();
    const auto& d = saved[2];
    const int64_t rows = d.size(0), cols = d.size(1);
    auto g = torch::empty_like(d);
    auto gb = torch::zeros({cols}, d.options());
    core::silu_grad_and_bias_grad(go.data_ptr<float>(), d.data_ptr<float>(), g.data_ptr<float>(), gb.data_ptr<float>(),
                            rows, cols);
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = torch::mm(g, w);
    if (ctx->needs_input_grad(1)) gw = torch::mm(g.t(), x);
    if (!ctx->needs_input_grad(2)) gb = torch::Tensor();
    return {gx, gw, gb};
  }
};

}  // namespace

torch::Tensor linear_activation(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                Activation activation, bool fused) {
  if (fused && fusable(x, weight, bias, activation)) return LinearSiLU::apply(x.contiguous(), weight, bias);
  return activate(torch::addmm(bias, x, weight.t()), activation);
}

}  // namespace jeffreys::nn
