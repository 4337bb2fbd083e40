// The two ODE tasks, sir and lotka_volterra, solved with Boost.Odeint (adaptive Dormand-Prince 5(4)).
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <array>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "jeffreys/simulators/task.h"
#include "task_impl.h"

namespace jeffreys::simulators {

namespace {

namespace odeint = boost::numeric::odeint;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kRelTol = 1e-8;
// Steps allowed between two reported times before a solve counts as failed (sbibm's Julia solver
// gives up after 10^5 steps in all; the dynamics that need more have exploded anyway).
constexpr int kMaxSteps = 50000;

void check_times(const std::vector<double>& times, const std::string& who) {
  TORCH_CHECK(!times.empty(), who, ": needs at least one time");
  TORCH_CHECK(times.front() >= 0, who, ": times must be >= 0");
  for (size_t i = 1; i < times.size(); ++i) TORCH_CHECK(times[i] > times[i - 1], who, ": times must be increasing");
}

// Solves dx/dt = rhs(x, θ) from x(0) = x0 for every row θ of `theta` [n, P], reporting the state at
// `times` (t = 0 is the initial state): [n, times.size(), D], a row of NaN where the solve failed.
// The rows are independent and deterministic, so they run in parallel over the intra-op threads.
template <size_t D, typename Rhs>
torch::Tensor solve_rows(const torch::Tensor& theta, const std::array<double, D>& x0, const std::vector<double>& times,
                         double abs_tol, Rhs rhs) {
  using State = std::array<double, D>;
  const int64_t n = theta.size(0), p = theta.size(1), t_count = static_cast<int64_t>(times.size());
  auto out = torch::empty({n, t_count, static_cast<int64_t>(D)}, torch::kDouble);
  const double* th = theta.data_ptr<double>();
  double* o = out.data_ptr<double>();
  // A point t = 0 is reported from the start; integrate_times needs the start among its times.
  std::vector<double> grid;
  if (times.front() > 0) grid.push_back(0.0);
  grid.insert(grid.end(), times.begin(), times.end());
  const size_t skip = grid.size() - times.size();
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* params = th + i * p;
      double* row = o + i * t_count * static_cast<int64_t>(D);
      State x = x0;
      size_t k = 0;
      bool ok = true;
      try {
        auto system = [&](const State& s, State& dsdt, double) { rhs(s, dsdt, params); };
        auto observer = [&](const State& s, double) {
          if (k >= skip)
            for (size_t d = 0; d < D; ++d) row[(k - skip) * D + d] = s[d];
          ++k;
        };
        const double dt0 = grid.size() > 1 ? std::min(1e-3, grid[1] - grid[0]) : 1e-3;
        odeint::integrate_times(odeint::make_controlled<odeint::runge_kutta_dopri5<State>>(abs_tol, kRelTol), system, x,
                                grid.begin(), grid.end(), dt0, observer, odeint::max_step_checker(kMaxSteps));
      } catch (const std::exception&) {
        ok = false;  // too many steps or no progress: sbibm's solver failing gives NaN data too
      }
      if (ok && k == grid.size())
        for (int64_t j = 0; j < t_count * static_cast<int64_t>(D); ++j) ok = ok && std::isfinite(row[j]);
      else
        ok = false;
      if (!ok)
        for (int64_t j = 0; j < t_count * static_cast<int64_t>(D); ++j) row[j] = kNaN;
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
constexpr double kPopulation = 1e6;

torch::Tensor sir_solve(const torch::Tensor& th, const std::vector<double>& days) {
  // Absolute tolerance in people: I starts at 1, so 1e-6 of a person keeps early growth exact too.
  return solve_rows<3>(th, {kPopulation - 1, 1, 0}, days, 1e-6, [](const std::array<double, 3>& s, std::array<double, 3>& d, const double* p) {
    const double infection = p[0] * s[0] * s[1] / kPopulation, recovery = p[1] * s[1];
    d[0] = -infection;
    d[1] = infection - recovery;
    d[2] = recovery;
  });
}

torch::Tensor lotka_volterra_solve(const torch::Tensor& th, const std::vector<double>& times) {
  // The summaries keep populations down to 1e-10, so the absolute tolerance sits below that.
  return solve_rows<2>(th, {30, 1}, times, 1e-12, [](const std::array<double, 2>& s, std::array<double, 2>& d, const double* p) {
    d[0] = p[0] * s[0] - p[1] * s[0] * s[1];
    d[1] = -p[2] * s[1] + p[3] * s[0] * s[1];
  });
}

class Sir : public detail::PriorTask {
 public:
  Sir()
      : PriorTask("sir", 2, 10,
                  detail::lognormal_prior(torch::tensor({std::log(0.4), std::log(0.125)}, torch::kDouble),
                                          torch::tensor({0.5, 0.2}, torch::kDouble))) {
    for (int k = 0; k < 10; ++k) days_.push_back(17.0 * k);  // every 17th of the 161 daily points
  }
  // x_k ~ Binomial(1000, I(day 17k) / N): the infected fraction seen in a sample of 1000 people.
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const auto infected = sir_solve(th, days_).select(2, 1);
    const auto failed = infected.isnan().any(1, true);
    const auto p = torch::where(failed, torch::zeros({}, torch::kDouble), (infected / kPopulation).clamp(0, 1));
    const auto x = torch::binomial(torch::full_like(p, 1000.0), p, g);
    return torch::where(failed, torch::full({}, kNaN, torch::kDouble), x);
  }

 private:
  std::vector<double> days_;
};

class LotkaVolterra : public detail::PriorTask {
 public:
  LotkaVolterra()
      : PriorTask("lotka_volterra", 4, 20,
                  detail::lognormal_prior(torch::tensor({-0.125, -3.0, -0.125, -3.0}, torch::kDouble),
                                          torch::full({4}, 0.5, torch::kDouble))) {
    for (int k = 0; k < 10; ++k) times_.push_back(2.1 * k);  // every 21st of the 201 points 0.1 apart
  }
  // x = (X_0..X_9, Y_0..Y_9), each observed with log-normal noise of log-scale 0.1 around the
  // population clamped to [1e-10, 1e4].
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const auto u = lotka_volterra_solve(th, times_).transpose(1, 2).reshape({th.size(0), 20});
    return (u.clamp(1e-10, 1e4).log() + 0.1 * torch::randn(u.sizes(), g, torch::kDouble)).exp();
  }

 private:
  std::vector<double> times_;
};

}  // namespace

torch::Tensor sir_trajectory(const torch::Tensor& theta, const std::vector<double>& days) {
  check_times(days, "sir_trajectory");
  return sir_solve(detail::as_rows(theta, 2, "sir_trajectory"), days);
}

torch::Tensor lotka_volterra_trajectory(const torch::Tensor& theta, const std::vector<double>& times) {
  check_times(times, "lotka_volterra_trajectory");
  return lotka_volterra_solve(detail::as_rows(theta, 4, "lotka_volterra_trajectory"), times);
}

namespace detail {
std::unique_ptr<Task> make_sir() { return std::make_unique<Sir>(); }
std::unique_ptr<Task> make_lotka_volterra() { return std::make_unique<LotkaVolterra>(); }
}  // namespace detail

}  // namespace jeffreys::simulators
