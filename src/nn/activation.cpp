#include "jeffreys/nn/activation.h"

#include <torch/torch.h>

#include <stdexcept>

namespace jeffreys::nn {

torch::Tensor activate(const torch::Tensor& x, Activation a) {
  switch (a) {
    case Activation::silu: return torch::silu(x);
    case Activation::relu: return torch::relu(x);
    case Activation::tanh: return torch::tanh(x);
    case Activation::elu: return torch::elu(x);
    case Activation::gelu: return torch::gelu(x);
    case Activation::leaky_relu: return torch::leaky_relu(x, 0.01);
  }
  throw std::logic_error("unknown activation");
}

Activation activation_from_string(const std::string& name) {
  if (name == "silu") return Activation::silu;
  if (name == "relu") return Activation::relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "elu") return Activation::elu;
  if (name == "gelu") return Activation::gelu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  throw std::invalid_argument("unknown activation '" + name + "' (choose silu, relu, tanh, elu, gelu, leaky_relu)");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::silu: return "silu";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::elu: return "elu";
    case Activation::gelu: return "gelu";
    case Activation::leaky_relu: return "leaky_relu";
  }
  return "?";
}

}  // namespace jeffreys::nn
