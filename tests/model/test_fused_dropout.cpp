// The fused softmax-dropout and ReLU-dropout autograd functions against the composed ops they
// replace: same masks, same forward values, same gradients (the softmax backward to rounding), and
// the same number of draws from the dropout streams.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/common/seed.h"
#include "core/tensor_parallel/dropout_rng.h"
#include "core/tensor_parallel/fused_dropout.h"

namespace gensar::tp {
namespace {

// Rows of 7 (not a multiple of the hash's four lanes) so rows start mid-word.
torch::Tensor random_input(int64_t seed) {
  torch::manual_seed(seed);
  return (torch::randn({2, 3, 5, 7}) * 3).requires_grad_(true);
}

TEST(FusedDropout, KeepMaskRangesAgreeWithTheWholeMask) {
  DropoutRng rng(7);
  const KeepMask m = KeepMask::draw(0.3, rng.replicated());
  std::vector<float> whole(103), part(103);
  m.fill(0, 103, whole.data());
  m.fill(0, 5, part.data());
  m.fill(5, 58, part.data() + 5);
  m.fill(58, 103, part.data() + 58);
  EXPECT_EQ(whole, part);
  // The formula the checkpointed streams rely on: lane i % 4 of mix(key ^ (i / 4) * K).
  for (int64_t i = 0; i < 103; ++i) {
    const uint64_t h = seed::mix(m.key ^ (static_cast<uint64_t>(i / 4) * 0xd6e8feb86659fd93ULL));
    const bool keep = ((h >> (16 * (i % 4))) & 0xffff) < m.threshold;
    EXPECT_EQ(whole[i], keep ? m.scale : 0.0f) << i;
  }
  int kept = 0;
  for (float v : whole) {
    EXPECT_TRUE(v == 0.0f || v == m.scale);
    kept += v != 0.0f;
  }
  EXPECT_GT(kept, 50);
  EXPECT_LT(kept, 90);
}

TEST(FusedDropout, SoftmaxDropoutEqualsSoftmaxThenDropout) {
  torch::Tensor a = random_input(1), b = random_input(1);
  DropoutRng fused_rng(11), composed_rng(11);
  torch::Tensor fused = sharded_softmax_dropout(a, 0.3, true, fused_rng, 1, 0, 1);
  torch::Tensor composed = sharded_dropout(torch::softmax(b, -1), 0.3, true, composed_rng, 1, 0, 1);
  EXPECT_TRUE(torch::equal(fused, composed));
  EXPECT_TRUE(torch::equal(fused_rng.state(), composed_rng.state()));
  EXPECT_GT((fused == 0).sum().item<int64_t>(), 0);

  torch::manual_seed(2);
  const torch::Tensor upstream = torch::randn(fused.sizes());
  fused.backward(upstream);
  composed.backward(upstream);
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-5, 1e-6))
      << (a.grad() - b.grad()).abs().max().item<float>();
  // A dropped probability still gets a gradient through the row's normalisation.
  EXPECT_EQ((a.grad() == 0).sum().item<int64_t>(), 0);
}

TEST(FusedDropout, ReluDropoutEqualsReluThenDropoutExactly) {
  torch::Tensor a = random_input(3), b = random_input(3);
  DropoutRng fused_rng(5), composed_rng(5);
  torch::Tensor fused = sharded_relu_dropout(a, 0.25, true, fused_rng, 3, 0, 1);
  torch::Tensor composed = sharded_dropout(torch::relu(b), 0.25, true, composed_rng, 3, 0, 1);
  EXPECT_TRUE(torch::equal(fused, composed));
  EXPECT_TRUE(torch::equal(fused_rng.state(), composed_rng.state()));
  torch::manual_seed(4);
  const torch::Tensor upstream = torch::randn(fused.sizes());
  fused.backward(upstream);
  composed.backward(upstream);
  EXPECT_TRUE(torch::equal(a.grad(), b.grad()));
}

TEST(FusedDropout, OffInEvalAndAtZeroRate) {
  torch::Tensor x = random_input(6);
  DropoutRng rng(9);
  const torch::Tensor before = rng.state();
  EXPECT_TRUE(torch::equal(sharded_softmax_dropout(x, 0.3, false, rng, 1, 0, 1), torch::softmax(x, -1)));
  EXPECT_TRUE(torch::equal(sharded_softmax_dropout(x, 0.0, true, rng, 1, 0, 1), torch::softmax(x, -1)));
  EXPECT_TRUE(torch::equal(sharded_relu_dropout(x, 0.3, false, rng, 3, 0, 1), torch::relu(x)));
  EXPECT_TRUE(torch::equal(rng.state(), before));  // nothing drawn
}

}  // namespace
}  // namespace gensar::tp
