// The contract helper itself: it passes a correct layer and catches each kind of broken one, so
// that a green bijection test means something.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/transforms/lu_linear.h"
#include "support/expect_bijection.h"

namespace T = jeffreys::transforms;

namespace {

struct Faults {
  double logdet_offset = 0;   // forward log-det off by a constant (inverse consistent with it)
  double inverse_offset = 0;  // inverse output off
  bool inverse_logdet_sign = false;  // inverse returns the forward's log-det instead of its negative
  bool dead_parameter = false;       // a parameter that never influences the output
  bool unsaved_state = false;        // state outside parameters and buffers
};

/// An LU-linear layer with optional, deliberate contract violations.
class FaultyImpl : public T::TransformImpl {
 public:
  FaultyImpl(int64_t d, Faults f) : faults(f) {
    inner = register_module("inner", std::make_shared<T::LULinearImpl>(d));
    if (f.dead_parameter) register_parameter("dead", torch::zeros({1}));
    hidden = f.unsaved_state ? torch::randn({d}, torch::kDouble) : torch::zeros({d}, torch::kDouble);
  }
  T::TransformResult forward(const torch::Tensor& x, const torch::Tensor& c = {}) override {
    auto [z, ld] = inner->forward(x, c);
    return {z + hidden, ld + faults.logdet_offset};
  }
  T::TransformResult inverse(const torch::Tensor& z, const torch::Tensor& c = {}) override {
    auto [x, ld] = inner->inverse(z - hidden, c);
    ld = ld - faults.logdet_offset;
    return {x + faults.inverse_offset, faults.inverse_logdet_sign ? -ld : ld};
  }
  Faults faults;
  std::shared_ptr<T::LULinearImpl> inner;
  torch::Tensor hidden;
};

std::shared_ptr<FaultyImpl> make_faulty(Faults f) {
  auto t = std::make_shared<FaultyImpl>(3, f);
  t->to(torch::kDouble);
  jtest::randomise_parameters(*t, 0.3);
  return t;
}

/// Messages of the failures that `f` reports (intercepted, so they do not fail this test).
std::vector<std::string> failures_of(const std::function<void()>& f) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  std::vector<std::string> out;
  for (int i = 0; i < results.size(); ++i) out.push_back(results.GetTestPartResult(i).message());
  return out;
}

std::vector<std::string> check(Faults f) {
  torch::manual_seed(7);
  auto t = make_faulty(f);
  auto x = torch::randn({5, 3}, torch::kDouble);
  auto z = torch::randn({5, 3}, torch::kDouble);
  return failures_of([&] {
    jtest::expect_bijection<FaultyImpl>(t, x, z, {}, [f] { return make_faulty(f); });
  });
}

bool mentions(const std::vector<std::string>& msgs, const std::string& what) {
  for (const auto& m : msgs)
    if (m.find(what) != std::string::npos) return true;
  return false;
}

std::string joined(const std::vector<std::string>& msgs) {
  std::string s;
  for (const auto& m : msgs) s += m + "\n";
  return s;
}

}  // namespace

TEST(ExpectBijection, PassesACorrectLayer) {
  auto msgs = check({});
  EXPECT_TRUE(msgs.empty()) << joined(msgs);
}

TEST(ExpectBijection, CatchesWrongLogDeterminant) {
  Faults f;
  f.logdet_offset = 0.05;
  auto msgs = check(f);
  EXPECT_TRUE(mentions(msgs, "forward log-det != log|det J|")) << joined(msgs);
}

TEST(ExpectBijection, CatchesWrongInverse) {
  Faults f;
  f.inverse_offset = 1e-3;
  auto msgs = check(f);
  EXPECT_TRUE(mentions(msgs, "inverse(forward(x)) != x")) << joined(msgs);
  EXPECT_TRUE(mentions(msgs, "forward(inverse(z)) != z")) << joined(msgs);
}

TEST(ExpectBijection, CatchesInverseLogDeterminantSign) {
  Faults f;
  f.inverse_logdet_sign = true;
  auto msgs = check(f);
  EXPECT_TRUE(mentions(msgs, "inverse log-det != -forward log-det")) << joined(msgs);
}

TEST(ExpectBijection, CatchesUntrainedParameter) {
  Faults f;
  f.dead_parameter = true;
  auto msgs = check(f);
  EXPECT_TRUE(mentions(msgs, "parameter 'dead' got no gradient")) << joined(msgs);
}

TEST(ExpectBijection, CatchesStateThatIsNotSaved) {
  Faults f;
  f.unsaved_state = true;
  auto msgs = check(f);
  EXPECT_TRUE(mentions(msgs, "loaded twin: forward output differs")) << joined(msgs);
}
