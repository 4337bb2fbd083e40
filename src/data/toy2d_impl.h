#pragma once
// Internal to src/data: the concrete data sets behind make_toy2d and the helpers they share.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "jeffreys/data/toy2d.h"

namespace jeffreys::data::detail {

std::unique_ptr<Toy2D> make_eight_gaussians();
std::unique_ptr<Toy2D> make_gaussian_grid();
std::unique_ptr<Toy2D> make_checkerboard();
std::unique_ptr<Toy2D> make_rings();
std::unique_ptr<Toy2D> make_circles();
std::unique_ptr<Toy2D> make_pinwheel();
std::unique_ptr<Toy2D> make_two_moons();
std::unique_ptr<Toy2D> make_swiss_roll();
std::unique_ptr<Toy2D> make_two_spirals();

/// x [n, 2] of any float dtype and device as float64 on the CPU; throws naming `who` otherwise.
torch::Tensor as_points(const torch::Tensor& x, const std::string& who);
/// Throws unless n >= 0, naming `who`.
void check_sample_count(int64_t n, const std::string& who);

/// Float64 draws on the CPU with `g`: uniform on [0, 1), standard normal, integers in [0, high).
torch::Tensor uniform(int64_t n, at::Generator& g);
torch::Tensor normal(at::IntArrayRef shape, at::Generator& g);
torch::Tensor integers(int64_t high, int64_t n, at::Generator& g);

/// log Σ exp(values) per group, for `group` (long, sorted ascending, values in [0, groups)) and
/// `values` of the same length; float64 [groups], -inf for a group without values.
torch::Tensor grouped_logsumexp(const torch::Tensor& group, const torch::Tensor& values, int64_t groups);

/// log(2π σ²): the normaliser of an isotropic 2D Gaussian.
double log_gaussian_norm(double sigma);

}  // namespace jeffreys::data::detail
