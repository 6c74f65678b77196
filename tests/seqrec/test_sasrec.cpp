// SASRec: learns a deterministic sequential pattern, scores consistently, saves and loads, and
// builds batches that never contain a padding target.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <limits>
#include <string>

#include "core/common/check.h"
#include "core/seqrec/sasrec.h"
#include "core/seqrec/sasrec_trainer.h"

namespace gensar::seqrec {
namespace {

// User u clicks s, s+1, s+2, ... (mod I) from a start s that depends on u: the next item is always
// the last one plus one, which only a model that reads order (not just item sets) can predict.
// Lengths vary (4 .. max_length) so that every amount of left padding is seen in training.
std::vector<std::vector<int32_t>> successor_sequences(int users, int items, int max_length) {
  std::vector<std::vector<int32_t>> seqs(users);
  for (int u = 0; u < users; ++u) {
    const int length = 4 + u % (max_length - 3);
    for (int t = 0; t < length; ++t) seqs[u].push_back((u * 7 + t) % items);
  }
  return seqs;
}

double hit_rate_at_1(SasRec& model, int items, int histories) {
  int hits = 0;
  for (int h = 0; h < histories; ++h) {
    const int start = (h * 5) % items, length = 3 + h % 8;
    std::vector<int64_t> history;
    for (int t = 0; t < length; ++t) history.push_back((start + t) % items);
    const int64_t expected = (start + length) % items;
    // Ranked among the items the user has not clicked, as SASRec is evaluated: the paper's sampler
    // never uses a user's own items as negatives, so their scores carry no signal.
    torch::Tensor scores = model.score_all(history);
    for (int64_t item : history) scores[item] = -std::numeric_limits<float>::infinity();
    hits += scores.argmax().item<int64_t>() == expected;
  }
  return double(hits) / histories;
}

SasRecConfig small_config(int items, const std::string& loss) {
  SasRecConfig c;
  c.num_items = items;
  c.max_len = 16;
  c.hidden = 32;
  c.blocks = 2;
  c.heads = 1;
  c.dropout = 0.1;
  c.loss = loss;
  return c;
}

TEST(SasRec, LearnsSuccessorPatternWithSampledNegatives) {
  torch::set_num_threads(1);
  const int items = 40;
  // One sampled negative per position is a weak ranking signal: it needs more steps than the full
  // softmax to put the successor first among 40 items.
  SasRec model(small_config(items, "bce"), 1);
  const double before = hit_rate_at_1(model, items, 100);
  SasRecTrainOptions opt;
  opt.epochs = 80;
  opt.batch_size = 32;
  opt.lr = 5e-3;
  opt.seed = 3;
  SasRecTrainReport report = train_sasrec(model, successor_sequences(200, items, 12), opt, nullptr);
  ASSERT_EQ(static_cast<int64_t>(report.epoch_losses.size()), opt.epochs);
  EXPECT_LT(report.epoch_losses.back(), 0.5 * report.epoch_losses.front());
  const double after = hit_rate_at_1(model, items, 100);
  EXPECT_LT(before, 0.2);
  EXPECT_GE(after, 0.9) << "HR@1 " << after << " after " << report.steps << " steps";
}

TEST(SasRec, LearnsSuccessorPatternWithFullSoftmax) {
  torch::set_num_threads(1);
  const int items = 40;
  SasRec model(small_config(items, "ce"), 2);
  SasRecTrainOptions opt;
  opt.epochs = 30;
  opt.batch_size = 32;
  opt.lr = 5e-3;
  train_sasrec(model, successor_sequences(200, items, 12), opt, nullptr);
  EXPECT_GE(hit_rate_at_1(model, items, 100), 0.9);
}

TEST(SasRec, ScoreMatchesFullCatalogueScoresAndIgnoresOldHistory) {
  SasRec model(small_config(25, "bce"), 4);
  std::vector<int64_t> history{3, 4, 5, 9};
  torch::Tensor all = model.score_all(history);
  ASSERT_EQ(all.size(0), 25);
  torch::Tensor some = model.score(history, {0, 9, 24});
  EXPECT_NEAR(some[0].item<float>(), all[0].item<float>(), 1e-5);
  EXPECT_NEAR(some[1].item<float>(), all[9].item<float>(), 1e-5);
  EXPECT_NEAR(some[2].item<float>(), all[24].item<float>(), 1e-5);
  // Only the last max_len items count.
  std::vector<int64_t> long_history(40, 7);
  std::vector<int64_t> truncated(16, 7);
  EXPECT_TRUE(torch::allclose(model.score_all(long_history), model.score_all(truncated), 1e-5, 1e-6));
  EXPECT_THROW(model.score(history, {25}), InputError);
  // Batched scores equal single ones.
  torch::Tensor batch = model.score_all_batch({history, {1, 2}});
  EXPECT_TRUE(torch::allclose(batch[0], all, 1e-5, 1e-6));
}

TEST(SasRec, SaveAndLoadGiveTheSameScores) {
  SasRec model(small_config(25, "ce"), 5);
  train_sasrec(model, successor_sequences(40, 25, 8), SasRecTrainOptions{2, 8, 1e-3, 1, 0}, nullptr);
  const std::string path = ::testing::TempDir() + "sasrec_roundtrip.pt";
  model.save(path);
  SasRec loaded = SasRec::load(path);
  EXPECT_EQ(loaded.config().to_json(), model.config().to_json());
  EXPECT_TRUE(torch::equal(loaded.item_embeddings(), model.item_embeddings()));
  std::vector<int64_t> history{1, 2, 3};
  EXPECT_TRUE(torch::allclose(loaded.score_all(history), model.score_all(history)));
  std::remove(path.c_str());
  EXPECT_THROW(SasRec::load(path), InputError);
}

TEST(SasRecBatch, TargetsFollowInputsAndNegativesAvoidTheUsersItems) {
  SasRecConfig c = small_config(50, "bce");
  c.max_len = 5;
  std::vector<std::vector<int32_t>> seqs{{1, 2, 3}, {10, 11, 12, 13, 14, 15, 16, 17}, {4}};
  SasRecBatch b = build_sasrec_batch(c, seqs, {0, 1, 2}, 9, 0);
  auto row = [](const torch::Tensor& t, int64_t r) {
    return std::vector<int64_t>(t[r].data_ptr<int64_t>(), t[r].data_ptr<int64_t>() + t.size(1));
  };
  // Internal ids are dense + 1; 0 is padding. User 0: inputs 1, 2 -> targets 2, 3.
  EXPECT_EQ(row(b.inputs, 0), (std::vector<int64_t>{0, 0, 0, 2, 3}));
  EXPECT_EQ(row(b.positives, 0), (std::vector<int64_t>{0, 0, 0, 3, 4}));
  // User 1 keeps its most recent 5 transitions.
  EXPECT_EQ(row(b.inputs, 1), (std::vector<int64_t>{13, 14, 15, 16, 17}));
  EXPECT_EQ(row(b.positives, 1), (std::vector<int64_t>{14, 15, 16, 17, 18}));
  // User 2 has no transition: an all-padding row.
  EXPECT_EQ(b.positives[2].sum().item<int64_t>(), 0);
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t j = 0; j < c.max_len; ++j) {
      const int64_t neg = b.negatives[r][j].item<int64_t>();
      if (b.positives[r][j].item<int64_t>() == 0) {
        EXPECT_EQ(neg, 0);
        continue;
      }
      ASSERT_GE(neg, 1);
      for (int32_t item : seqs[r]) EXPECT_NE(neg, item + 1) << "negative is one of the user's items";
    }
  }
  // Deterministic per (seed, epoch, user), whatever batch the user lands in; other epochs differ.
  SasRecBatch alone = build_sasrec_batch(c, seqs, {1}, 9, 0);
  EXPECT_TRUE(torch::equal(alone.negatives[0], b.negatives[1]));
  SasRecBatch next_epoch = build_sasrec_batch(c, seqs, {1}, 9, 1);
  EXPECT_FALSE(torch::equal(next_epoch.negatives[0], b.negatives[1]));
}

}  // namespace
}  // namespace gensar::seqrec
