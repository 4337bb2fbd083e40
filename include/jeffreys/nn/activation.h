#pragma once
/// Activation functions selectable by name (for options structs and configuration files).
#include <torch/types.h>

#include <string>
#include <vector>

namespace jeffreys::nn {

enum class Activation { silu, relu, tanh, elu, gelu, leaky_relu };

/// Applies `a` element-wise.
torch::Tensor activate(const torch::Tensor& x, Activation a);

/// "silu", "relu", "tanh", "elu", "gelu", "leaky_relu"; throws std::invalid_argument naming the choices.
/// The names activation_from_string accepts.
std::vector<std::string> activation_names();
Activation activation_from_string(const std::string& name);
std::string to_string(Activation a);

}  // namespace jeffreys::nn
