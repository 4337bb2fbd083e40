#include "jeffreys/data/toy2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>

#include "toy2d_impl.h"

namespace jeffreys::data {
namespace {

using Factory = std::unique_ptr<Toy2D> (*)();

// One table gives both the names (in this order) and the constructors, so they cannot drift apart.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"two-moons", detail::make_two_moons},   {"8-gaussians", detail::make_eight_gaussians},
      {"checkerboard", detail::make_checkerboard}, {"rings", detail::make_rings},
      {"circles", detail::make_circles},       {"pinwheel", detail::make_pinwheel},
      {"swiss-roll", detail::make_swiss_roll}, {"2-spirals", detail::make_two_spirals},
      {"gaussian-grid", detail::make_gaussian_grid},
  };
  return table;
}

}  // namespace

torch::Tensor Toy2D::log_prob(const torch::Tensor& x) const {
  throw std::logic_error("data set '" + name() + "' has no log-density (has_log_prob() is false)");
}

std::unique_ptr<Toy2D> make_toy2d(const std::string& name) {
  for (const auto& [known, factory] : registry())
    if (known == name) return factory();
  std::string list;
  for (const auto& n : toy2d_names()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown 2D data set '" + name + "'; known: " + list);
}

std::vector<std::string> toy2d_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

torch::Tensor fixed_training_set(const Toy2D& d, int64_t n, uint64_t seed) {
  return d.sample(n, at::detail::createCPUGenerator(seed));
}

namespace detail {

torch::Tensor as_points(const torch::Tensor& x, const std::string& who) {
  TORCH_CHECK(x.defined() && x.dim() == 2 && x.size(1) == 2, who, ": expected points [n, 2], got ",
              x.defined() ? x.sizes() : at::IntArrayRef{});
  TORCH_CHECK(x.is_floating_point(), who, ": expected a floating-point tensor, got ", x.scalar_type());
  return x.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

void check_sample_count(int64_t n, const std::string& who) {
  TORCH_CHECK(n >= 0, who, ": the number of samples must be >= 0, got ", n);
}

torch::Tensor uniform(int64_t n, at::Generator& g) { return torch::rand({n}, g, torch::kDouble); }

torch::Tensor normal(at::IntArrayRef shape, at::Generator& g) { return torch::randn(shape, g, torch::kDouble); }

torch::Tensor integers(int64_t high, int64_t n, at::Generator& g) {
  return torch::randint(high, {n}, g, torch::kLong);
}

torch::Tensor grouped_logsumexp(const torch::Tensor& group, const torch::Tensor& values, int64_t groups) {
  // Each value goes to (its group, its rank within the group) of a dense [groups, largest group]
  // table padded with -inf; the groups are small, so the table is too.
  const int64_t m = group.size(0);
  auto counts = torch::bincount(group, {}, groups);
  auto starts = counts.cumsum(0) - counts;
  auto rank = torch::arange(m, torch::kLong) - starts.index_select(0, group);
  const int64_t width = m == 0 ? 1 : std::max<int64_t>(1, counts.max().item<int64_t>());
  auto table = torch::full({groups, width}, -std::numeric_limits<double>::infinity(), torch::kDouble);
  table.index_put_({group, rank}, values.to(torch::kDouble));
  return torch::logsumexp(table, 1);
}

double log_gaussian_norm(double sigma) { return std::log(2 * M_PI * sigma * sigma); }

}  // namespace detail
}  // namespace jeffreys::data
