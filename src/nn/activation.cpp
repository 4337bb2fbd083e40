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
  std::string list;
  for (auto a : {Activation::silu, Activation::relu, Activation::tanh, Activation::elu, Activation::gelu,
                 Activation::leaky_relu}) {
    if (name == to_string(a)) return a;
    list += (list.empty() ? "" : ", ") + to_string(a);
  }
  throw std::invalid_argument("unknown activation '" + name + "' (choose " + list + ")");
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

std::vector<std::string> activation_names() {
  std::vector<std::string> n;
  for (auto a : {Activation::silu, Activation::relu, Activation::tanh, Activation::elu, Activation::gelu,
                 Activation::leaky_relu})
    n.push_back(to_string(a));
  return n;
}

}  // namespace jeffreys::nn
