// The model's CPU matrix products (core/common/cpu_gemm.h): oneDNN where built, agreeing with
// LibTorch to float32 rounding, forward and backward, on the layouts the T5 layers use.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/common/cpu_gemm.h"

namespace gensar::gemm {
namespace {

// Restores the process's backend after a test switches it.
struct BackendGuard {
  Backend saved = backend();
  ~BackendGuard() { set_backend(saved); }
};

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const char* what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = want.abs().max().item<double>() + 1e-6;
  EXPECT_LT((got - want).abs().max().item<double>() / scale, 2e-5) << what;
}

// The T5 attention's operands: heads split from [B, T, h*d] as strided views, keys transposed.
struct Heads {
  torch::Tensor q, k, v;
};
Heads attention_operands(int64_t batch, int64_t len, int64_t heads, int64_t d, bool grad) {
  auto split = [&](torch::Tensor x) {
    x.set_requires_grad(grad);
    return x;
  };
  Heads h;
  h.q = split(torch::randn({batch, len, heads * d}));
  h.k = split(torch::randn({batch, len, heads * d}));
  h.v = split(torch::randn({batch, len, heads * d}));
  return h;
}
torch::Tensor view_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

// Scores, softmax and context, as T5AttentionImpl computes them, through `mm`.
template <typename Mm>
torch::Tensor attention(const Heads& h, int64_t heads, Mm mm) {
  auto q = view_heads(h.q, heads), k = view_heads(h.k, heads), v = view_heads(h.v, heads);
  auto probs = torch::softmax(mm(q, k.transpose(-1, -2)), -1);
  return mm(probs, v).transpose(1, 2);
}

TEST(CpuGemm, AttentionProductsAndGradientsMatchLibTorch) {
  torch::manual_seed(1);
  const auto before = onednn_products();
  const Heads h = attention_operands(8, 67, 4, 32, /*grad=*/true);
  auto got = attention(h, 4, [](auto a, auto b) { return gemm::matmul(a, b); });
  auto weights = torch::randn_like(got);
  (got * weights).sum().backward();
  std::vector<torch::Tensor> got_grads = {h.q.grad().clone(), h.k.grad().clone(),
                                          h.v.grad().clone()};
  for (auto* t : {&h.q, &h.k, &h.v}) t->mutable_grad() = torch::Tensor();
  auto want = attention(h, 4, [](auto a, auto b) { return torch::matmul(a, b); });
  (want * weights).sum().backward();
  expect_close(got, want, "context");
  expect_close(got_grads[0], h.q.grad(), "dq");
  expect_close(got_grads[1], h.k.grad(), "dk");
  expect_close(got_grads[2], h.v.grad(), "dv");
  if (onednn_built() && backend() == Backend::kOneDnn)
    EXPECT_GE(onednn_products() - before, 2u + 4u) << "forward and backward ran through oneDNN";
}

TEST(CpuGemm, LinearMatchesLibTorchWithAContiguousWeightGradient) {
  torch::manual_seed(2);
  const auto before = onednn_products();
  auto x = torch::randn({3, 50, 128}, torch::requires_grad());
  auto w = torch::randn({256, 128}, torch::requires_grad());
  auto y = gemm::linear(x, w);
  auto gy = torch::randn_like(y);
  y.backward(gy);
  auto want = torch::nn::functional::linear(x.detach(), w.detach());
  expect_close(y, want, "y");
  expect_close(x.grad(), gy.matmul(w.detach()), "dx");
  expect_close(w.grad(), gy.reshape({-1, 256}).t().matmul(x.detach().reshape({-1, 128})), "dw");
  EXPECT_TRUE(w.grad().is_contiguous());
  if (onednn_built() && backend() == Backend::kOneDnn)
    EXPECT_EQ(onednn_products() - before, 3u) << "y, dx and dw through oneDNN";
}

TEST(CpuGemm, TransposedAndSlicedOperandsAreRead) {
  torch::manual_seed(3);
  auto a = torch::randn({300, 200}).t();               // column-major
  auto b = torch::randn({300, 400}).slice(1, 0, 350, 2);  // every other column: not plain
  expect_close(gemm::matmul(a, b), torch::matmul(a, b), "strided operands");
  auto batched = torch::randn({8, 100, 64}).expand({2, 8, 100, 64});  // a broadcast dimension
  auto other = torch::randn({2, 8, 64, 100});
  expect_close(gemm::matmul(batched, other), torch::matmul(batched, other), "broadcast batch");
}

TEST(CpuGemm, SmallOrNonFloatProductsAndTheTorchBackendUseLibTorch) {
  const auto before = onednn_products();
  auto small = gemm::matmul(torch::randn({4, 8}), torch::randn({8, 4}));
  auto dbl = gemm::matmul(torch::randn({200, 200}, torch::kDouble), torch::randn({200, 200}, torch::kDouble));
  EXPECT_EQ(small.sizes(), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(dbl.scalar_type(), torch::kDouble);
  {
    BackendGuard guard;
    set_backend(Backend::kTorch);
    auto big = gemm::matmul(torch::randn({256, 256}), torch::randn({256, 256}));
    EXPECT_EQ(big.size(1), 256);
  }
  EXPECT_EQ(onednn_products(), before);
}

// The primitive cache is bounded: many distinct layouts (as a long evaluation's beam and source
// shapes make) never hold more than its capacity, and products stay right across the restarts.
TEST(CpuGemm, PrimitiveCacheStaysWithinItsCapacity) {
  if (!onednn_built() || backend() != Backend::kOneDnn) GTEST_SKIP() << "no oneDNN in this build";
  set_primitive_cache_capacity(8);
  torch::manual_seed(6);
  for (int64_t k = 100; k < 125; ++k) {
    auto a = torch::randn({128, k}), b = torch::randn({k, 96});
    expect_close(gemm::matmul(a, b), torch::matmul(a, b), ("layout k=" + std::to_string(k)).c_str());
    EXPECT_LE(onednn_cached_layouts(), 8u) << "after k=" << k;
    EXPECT_GE(onednn_cached_layouts(), 1u);
  }
  set_primitive_cache_capacity(4096);
}

TEST(CpuGemm, TheBackendNamesAndTheBuildAgree) {
  EXPECT_STREQ(backend_name(Backend::kTorch), "torch");
  EXPECT_STREQ(backend_name(Backend::kOneDnn), "onednn");
  if (!onednn_built()) {
    EXPECT_EQ(backend(), Backend::kTorch);
    EXPECT_ANY_THROW(set_backend(Backend::kOneDnn));
  }
}

}  // namespace
}  // namespace gensar::gemm
