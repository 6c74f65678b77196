// convert-checkpoint on files: TP 1 -> 2 -> 1 is bit-exact, the trainer's loader reads converted
// checkpoints, vocabulary padding for a TP size that does not divide it, single-file models.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/check.h"
#include "core/train/checkpoint_convert.h"
#include "tests/convert/convert_fixture.h"

namespace fs = std::filesystem;
using namespace gensar;

namespace {

class ConvertTest : public ::testing::TestWithParam<bool> {  // param: tied embeddings
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gensar_convert_" + std::to_string(::getpid()) +
                                         (GetParam() ? "_tied" : "_untied"));
    fs::remove_all(root_);
    config_ = test::tiny_config(GetParam());
    source_ = test::write_tiny_checkpoint((root_ / "run").string(), config_, 11);
    original_ = dist::load_tensors((fs::path(source_) / "model-tp00-dp000.pt").string());
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string out(const std::string& name) const { return (root_ / name).string(); }

  static void expect_equal(const dist::TensorMap& a, const dist::TensorMap& b) {
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) {
      ASSERT_TRUE(b.count(name)) << name;
      EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
    }
  }

  fs::path root_;
  model::T5Config config_;
  std::string source_;
  dist::TensorMap original_;
};

TEST_P(ConvertTest, Tp1ToTp2ToTp1IsBitExact) {
  train::convert_checkpoint(source_, out("tp2"), 2);
  auto state = dist::read_json_file(out("tp2") + "/state.json");
  EXPECT_EQ(state.at("tp_size"), 2);
  EXPECT_EQ(state.at("step"), 7);
  EXPECT_EQ(state.at("optimizer"), "dropped");
  EXPECT_FALSE(fs::exists(out("tp2") + "/optim-tp00-dp000.pt"));
  EXPECT_FALSE(fs::exists(out("tp2.tmp")));

  // Each shard holds the right half of every sharded parameter, replicated ones whole.
  auto s0 = dist::load_tensors(out("tp2") + "/model-tp00-dp000.pt");
  auto s1 = dist::load_tensors(out("tp2") + "/model-tp01-dp000.pt");
  for (const auto& [name, full] : original_) {
    const int d = model::partition_dims_for(config_).at(name);
    if (d < 0) {
      EXPECT_TRUE(torch::equal(s0.at(name), full)) << name;
      EXPECT_TRUE(torch::equal(s1.at(name), full)) << name;
    } else {
      const int64_t half = full.size(d) / 2;
      EXPECT_TRUE(torch::equal(s0.at(name), full.narrow(d, 0, half))) << name;
      EXPECT_TRUE(torch::equal(s1.at(name), full.narrow(d, half, half))) << name;
    }
  }
  expect_equal(train::load_full_parameters(out("tp2")), original_);

  train::convert_checkpoint(out("tp2"), out("tp1"), 1);
  expect_equal(dist::load_tensors(out("tp1") + "/model-tp00-dp000.pt"), original_);
  EXPECT_EQ(dist::read_json_file(out("tp1") + "/state.json").at("tp_size"), 1);
  for (const char* f : {"config.ini", "prompts.txt", "tokenizer.model", "identifiers.h5"})
    EXPECT_EQ(test::file_bytes(out("tp1") + "/" + f), test::file_bytes(fs::path(source_) / f)) << f;
  EXPECT_EQ(train::t5_config_from_json(dist::read_json_file(out("tp1") + "/model.json")).vocab_size,
            config_.vocab_size);
}

TEST_P(ConvertTest, TrainerLoaderReadsConvertedShards) {
  train::convert_checkpoint(source_, out("tp2"), 2);
  auto m = model::T5Model(config_, nullptr, 999);  // different init: the load must overwrite it
  train::load_checkpoint_weights(out("tp2"), *m, 0, 1);
  expect_equal(test::parameters_of(*m), original_);
}

TEST_P(ConvertTest, SameTpKeepsOptimizerAndRng) {
  train::convert_checkpoint(source_, out("copy"), 1);
  EXPECT_EQ(test::file_bytes(out("copy") + "/optim-tp00-dp000.pt"),
            test::file_bytes(fs::path(source_) / "optim-tp00-dp000.pt"));
  EXPECT_TRUE(fs::exists(out("copy") + "/rng-tp00-dp000.pt"));
  EXPECT_FALSE(dist::read_json_file(out("copy") + "/state.json").contains("optimizer"));
}

TEST_P(ConvertTest, AveragesCheckpointsOfOneRun) {
  const std::string second = test::write_tiny_checkpoint((root_ / "run2").string(), config_, 12);
  const std::string third = test::write_tiny_checkpoint((root_ / "run3").string(), config_, 13);
  train::convert_checkpoint(source_, out("mean"), 2, {second, third});
  const auto b = dist::load_tensors(fs::path(second) / "model-tp00-dp000.pt");
  const auto c = dist::load_tensors(fs::path(third) / "model-tp00-dp000.pt");
  const auto mean = train::load_full_parameters(out("mean"));
  ASSERT_EQ(mean.size(), original_.size());
  size_t differing = 0;  // the seeds differ, so most parameters do (norm weights start at one)
  for (const auto& [name, a] : original_) {
    differing += !torch::equal(a, b.at(name));
    EXPECT_TRUE(torch::allclose(mean.at(name), (a + b.at(name) + c.at(name)) / 3, 1e-6, 1e-7)) << name;
    EXPECT_EQ(mean.at(name).scalar_type(), a.scalar_type()) << name;
  }
  EXPECT_GT(differing, original_.size() / 2);
  const auto state = dist::read_json_file(out("mean") + "/state.json");
  EXPECT_EQ(state.at("optimizer"), "dropped");
  EXPECT_EQ(state.at("averaged_from").size(), 3u);
  EXPECT_FALSE(fs::exists(out("mean") + "/optim-tp00-dp000.pt"));
}

TEST_P(ConvertTest, RefusesToAverageAcrossRuns) {
  // Same architecture, other identifiers: the mean would mix two item vocabularies.
  const std::string other = test::write_tiny_checkpoint((root_ / "other").string(), config_, 12);
  std::ofstream(fs::path(other) / "identifiers.h5", std::ios::binary) << std::string("\x89HDF\r\nX", 7);
  try {
    train::convert_checkpoint(source_, out("mean"), 1, {other});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("identifiers.h5"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out("mean")));
  EXPECT_FALSE(fs::exists(out("mean.tmp")));
}

TEST_P(ConvertTest, PadsVocabularyForTp4) {
  ASSERT_EQ(config_.vocab_size, 30);
  train::convert_checkpoint(source_, out("tp4"), 4);
  auto cfg = train::t5_config_from_json(dist::read_json_file(out("tp4") + "/model.json"));
  EXPECT_EQ(cfg.vocab_size, 32);
  auto full = train::load_full_parameters(out("tp4"));
  for (const char* name : {"shared.weight", "lm_head.weight"}) {
    if (!original_.count(name)) continue;
    ASSERT_EQ(full.at(name).size(0), 32) << name;
    EXPECT_TRUE(torch::equal(full.at(name).narrow(0, 0, 30), original_.at(name))) << name;
    EXPECT_EQ(full.at(name).narrow(0, 30, 2).abs().sum().item<float>(), 0.0f) << name;
  }
  // The padded model is constructible and loadable with that vocabulary.
  auto m = model::T5Model(cfg, nullptr, 0);
  train::load_checkpoint_weights(out("tp4"), *m, 0, 1);
}

TEST_P(ConvertTest, SingleFileRoundTrip) {
  train::write_single_file_model(source_, out("model.pt"));
  auto single = train::read_single_file_model(out("model.pt"));
  expect_equal(single.parameters, original_);
  EXPECT_EQ(single.files.at("tokenizer.model"), test::file_bytes(fs::path(source_) / "tokenizer.model"));
  EXPECT_EQ(single.files.at("identifiers.h5"), test::file_bytes(fs::path(source_) / "identifiers.h5"));
  EXPECT_EQ(nlohmann::json::parse(single.files.at("state.json")).at("tp_size"), 1);

  train::convert_checkpoint(out("model.pt"), out("from_single"), 2);
  expect_equal(train::load_full_parameters(out("from_single")), original_);
  EXPECT_EQ(test::file_bytes(out("from_single") + "/config.ini"),
            test::file_bytes(fs::path(source_) / "config.ini"));
}

TEST_P(ConvertTest, RefusesExistingOutputAndBadTp) {
  fs::create_directories(out("exists"));
  EXPECT_THROW(train::convert_checkpoint(source_, out("exists"), 2), InputError);
  EXPECT_THROW(train::convert_checkpoint(source_, out("tp3"), 3), InputError);  // 4 heads
  EXPECT_FALSE(fs::exists(out("tp3")));
}

INSTANTIATE_TEST_SUITE_P(Embeddings, ConvertTest, ::testing::Values(true, false));

}  // namespace
