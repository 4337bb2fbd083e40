#pragma once
/// Shuffled train / validation split of a data set's rows.
#include <torch/types.h>

#include <cstdint>

namespace jeffreys::data {

/// The two parts of a split; each keeps the input's dtype, device and trailing shape.
struct Split {
  torch::Tensor train, validation;
};

/// Shuffles the rows of x (dim 0) with `seed` and puts round(validation_fraction · N) of them into
/// `validation`, the rest into `train`. Throws std::invalid_argument if validation_fraction is not
/// in [0, 1), or if it is > 0 and either part would be empty.
Split split(const torch::Tensor& x, double validation_fraction, uint64_t seed);

/// n distinct rows of x drawn uniformly at random with `seed` (the small-data setting on a given data
/// set). Throws std::invalid_argument unless 1 <= n <= the number of rows.
torch::Tensor random_subset(const torch::Tensor& x, int64_t n, uint64_t seed);

}  // namespace jeffreys::data
