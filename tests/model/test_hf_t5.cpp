#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/common/check.h"
#include "core/model/hf_t5.h"
#include "core/model/safetensors.h"
#include "tests/model/tiny_models.h"

namespace gensar::model {
namespace {

using testing::tiny_config;

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("gensar_test_hf_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// A file written byte by byte from the format description, independent of our writer.
TEST(Safetensors, ReadsHandWrittenFile) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"__metadata__":{"format":"pt"}})";
  const float a[4] = {1.0f, -2.5f, 3.25f, 0.0f};
  const uint16_t b[2] = {0x3C00, 0xC000};  // IEEE half 1.0 and -2.0
  const std::string path = temp_path("hand.safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header;
    out.write(reinterpret_cast<const char*>(a), sizeof(a));
    out.write(reinterpret_cast<const char*>(b), sizeof(b));
  }
  auto tensors = read_safetensors(path);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(tensors.at("a"), torch::tensor({1.0f, -2.5f, 3.25f, 0.0f}).view({2, 2})));
  EXPECT_TRUE(torch::equal(tensors.at("b"), torch::tensor({1.0f, -2.0f})));
}

TEST(Safetensors, RejectsTruncatedFile) {
  const std::string path = temp_path("bad.safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_THROW(read_safetensors(path), InputError);
}

TEST(HfNames, MapBothWays) {
  EXPECT_EQ(our_name_to_hf("encoder.layers.3.self_attn.q.weight"),
            "encoder.block.3.layer.0.SelfAttention.q.weight");
  EXPECT_EQ(our_name_to_hf("decoder.layers.1.cross_attn.o.weight"),
            "decoder.block.1.layer.1.EncDecAttention.o.weight");
  EXPECT_EQ(our_name_to_hf("decoder.layers.0.ffn.wi_1.weight"),
            "decoder.block.0.layer.2.DenseReluDense.wi_1.weight");
  EXPECT_EQ(our_name_to_hf("encoder.layers.0.ffn_norm.weight"), "encoder.block.0.layer.1.layer_norm.weight");
  EXPECT_EQ(our_name_to_hf("decoder.layers.2.cross_attn_norm.weight"),
            "decoder.block.2.layer.1.layer_norm.weight");
  EXPECT_EQ(our_name_to_hf("decoder.relative_bias.weight"),
            "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  EXPECT_EQ(our_name_to_hf("encoder.final_norm.weight"), "encoder.final_layer_norm.weight");
  EXPECT_EQ(hf_name_to_ours("encoder.block.1.layer.1.DenseReluDense.wo.weight"),
            "encoder.layers.1.ffn.wo.weight");
  EXPECT_EQ(hf_name_to_ours("decoder.block.1.layer.2.layer_norm.weight"),
            "decoder.layers.1.ffn_norm.weight");
  EXPECT_EQ(hf_name_to_ours("encoder.block.1.layer.2.layer_norm.weight"), "");
  EXPECT_EQ(hf_name_to_ours("encoder.embed_tokens.weight"), "");
  for (auto ff : {FeedForward::kRelu, FeedForward::kGatedGelu}) {
    T5Model model(tiny_config(ff, false));
    for (const auto& [name, dim] : model->partition_dims()) {
      EXPECT_EQ(hf_name_to_ours(our_name_to_hf(name)), name);
    }
  }
}

void expect_same_parameters(T5ModelImpl& a, T5ModelImpl& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
}

TEST(HfT5, ExportImportRoundTrips) {
  for (bool tied : {true, false}) {
    auto config = tiny_config(tied ? FeedForward::kRelu : FeedForward::kGatedGelu, tied);
    T5Model source(config, nullptr, 1), target(config, nullptr, 2);
    const std::string path = temp_path(tied ? "tied.safetensors" : "untied.safetensors");
    save_hf_t5(*source, path);
    auto names = read_safetensors(path);
    EXPECT_TRUE(names.count("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
    EXPECT_EQ(names.count("lm_head.weight"), tied ? 0u : 1u);
    auto summary = load_hf_t5(*target, path);
    EXPECT_EQ(summary.appended_rows, 0);
    EXPECT_TRUE(summary.unused.empty());
    expect_same_parameters(*source, *target);
  }
}

TEST(HfT5, ExtendsEmbeddingsForNewTokens) {
  auto small = tiny_config();
  auto large = small;
  large.vocab_size = 52;
  T5Model pretrained(small, nullptr, 1), extended(large, nullptr, 2), again(large, nullptr, 3);
  const std::string path = temp_path("extend.safetensors");
  save_hf_t5(*pretrained, path);
  auto summary = load_hf_t5(*extended, path, 9);
  load_hf_t5(*again, path, 9);
  EXPECT_EQ(summary.pretrained_vocab, 40);
  EXPECT_EQ(summary.appended_rows, 12);
  auto rows = extended->shared->weight;
  EXPECT_TRUE(torch::equal(rows.slice(0, 0, 40), pretrained->shared->weight));
  // New rows are seeded (same seed, same rows) and centred on the pretrained mean row.
  EXPECT_TRUE(torch::equal(again->shared->weight, rows));
  auto mean_gap = (rows.slice(0, 40).mean(0) - pretrained->shared->weight.mean(0)).abs().max();
  EXPECT_LT(mean_gap.item<double>(), 3 * pretrained->shared->weight.std().item<double>());
  EXPECT_TRUE(torch::equal(extended->encoder->final_norm->weight, pretrained->encoder->final_norm->weight));
  // A checkpoint with more rows than the model is an input error.
  T5Model smaller([&] { auto c = small; c.vocab_size = 20; return c; }());
  EXPECT_THROW(load_hf_t5(*smaller, path), InputError);
}

}  // namespace
}  // namespace gensar::model
