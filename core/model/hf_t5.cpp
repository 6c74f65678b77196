#include "core/model/hf_t5.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <regex>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/model/safetensors.h"

namespace gensar::model {
namespace {

const std::regex kOurLayer(R"((encoder|decoder)\.layers\.(\d+)\.(\w+)\.weight)");
const std::regex kOurLayerSub(R"((encoder|decoder)\.layers\.(\d+)\.(self_attn|cross_attn|ffn)\.(\w+)\.weight)");
const std::regex kHfSub(R"((encoder|decoder)\.block\.(\d+)\.layer\.(\d)\.(SelfAttention|EncDecAttention|DenseReluDense)\.(\w+)\.weight)");
const std::regex kHfNorm(R"((encoder|decoder)\.block\.(\d+)\.layer\.(\d)\.layer_norm\.weight)");

std::string ffn_layer(const std::string& stack) { return stack == "encoder" ? "1" : "2"; }

}  // namespace

std::string our_name_to_hf(const std::string& ours) {
  if (ours == "shared.weight" || ours == "lm_head.weight") return ours;
  for (const std::string stack : {"encoder", "decoder"}) {
    if (ours == stack + ".relative_bias.weight")
      return stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    if (ours == stack + ".final_norm.weight") return stack + ".final_layer_norm.weight";
  }
  std::smatch m;
  if (std::regex_match(ours, m, kOurLayerSub)) {
    const std::string stack = m[1], block = m[2], part = m[3], leaf = m[4];
    const std::string prefix = stack + ".block." + block + ".layer.";
    if (part == "self_attn") return prefix + "0.SelfAttention." + leaf + ".weight";
    if (part == "cross_attn") return prefix + "1.EncDecAttention." + leaf + ".weight";
    return prefix + ffn_layer(stack) + ".DenseReluDense." + leaf + ".weight";
  }
  if (std::regex_match(ours, m, kOurLayer)) {
    const std::string stack = m[1], block = m[2], part = m[3];
    const std::string prefix = stack + ".block." + block + ".layer.";
    if (part == "self_attn_norm") return prefix + "0.layer_norm.weight";
    if (part == "cross_attn_norm") return prefix + "1.layer_norm.weight";
    if (part == "ffn_norm") return prefix + ffn_layer(stack) + ".layer_norm.weight";
  }
  return "";
}

std::string hf_name_to_ours(const std::string& hf) {
  if (hf == "shared.weight" || hf == "lm_head.weight") return hf;
  for (const std::string stack : {"encoder", "decoder"}) {
    if (hf == stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight")
      return stack + ".relative_bias.weight";
    if (hf == stack + ".final_layer_norm.weight") return stack + ".final_norm.weight";
  }
  std::smatch m;
  if (std::regex_match(hf, m, kHfSub)) {
    const std::string stack = m[1], block = m[2], layer = m[3], kind = m[4], leaf = m[5];
    const std::string prefix = stack + ".layers." + block + ".";
    if (kind == "SelfAttention" && layer == "0") return prefix + "self_attn." + leaf + ".weight";
    if (kind == "EncDecAttention" && layer == "1" && stack == "decoder")
      return prefix + "cross_attn." + leaf + ".weight";
    if (kind == "DenseReluDense" && layer == ffn_layer(stack))
      return prefix + "ffn." + leaf + ".weight";
    return "";
  }
  if (std::regex_match(hf, m, kHfNorm)) {
    const std::string stack = m[1], block = m[2], layer = m[3];
    const std::string prefix = stack + ".layers." + block + ".";
    if (layer == "0") return prefix + "self_attn_norm.weight";
    if (layer == ffn_layer(stack)) return prefix + "ffn_norm.weight";
    if (layer == "1" && stack == "decoder") return prefix + "cross_attn_norm.weight";
  }
  return "";
}

namespace {

// Extends a pretrained [V0, D] embedding to [V, D] with rows drawn around the pretrained ones.
torch::Tensor extend_rows(const torch::Tensor& pretrained, int64_t rows, uint64_t seed,
                          const std::string& what, const std::string& path) {
  const int64_t have = pretrained.size(0);
  GENSAR_INPUT_CHECK(have <= rows, "{}: {} has {} rows, more than the model's vocabulary {}", path,
                     what, have, rows);
  if (have == rows) return pretrained;
  auto gen = at::detail::createCPUGenerator(seed);
  auto noise = torch::randn({rows - have, pretrained.size(1)}, gen, torch::kFloat);
  auto extra = pretrained.mean(0, true) + noise * pretrained.std().item<double>();
  return torch::cat({pretrained, extra}, 0);
}

}  // namespace

HfImportSummary load_hf_t5(T5ModelImpl& model, const std::string& path, uint64_t seed) {
  auto hf = read_safetensors(path);
  HfImportSummary summary;
  std::map<std::string, torch::Tensor> ours;
  for (const auto& [name, tensor] : hf) {
    const std::string mapped = hf_name_to_ours(name);
    if (mapped.empty()) {
      // Tied copies of the shared embedding are expected; anything else is reported.
      if (name != "encoder.embed_tokens.weight" && name != "decoder.embed_tokens.weight")
        summary.unused.push_back(name);
      continue;
    }
    ours[mapped] = tensor;
  }
  if (!ours.count("shared.weight") && hf.count("encoder.embed_tokens.weight"))
    ours["shared.weight"] = hf.at("encoder.embed_tokens.weight");
  GENSAR_INPUT_CHECK(ours.count("shared.weight"), "{}: no shared.weight (not a T5 checkpoint?)",
                     path);
  const auto& config = model.config();
  summary.pretrained_vocab = ours["shared.weight"].size(0);
  ours["shared.weight"] =
      extend_rows(ours["shared.weight"], config.vocab_size, seed, "shared.weight", path);
  if (!config.tie_word_embeddings) {
    GENSAR_INPUT_CHECK(ours.count("lm_head.weight"),
                       "{}: model has an untied LM head but the checkpoint has no lm_head.weight "
                       "(set tied embeddings for T5 v1.0 checkpoints)", path);
    ours["lm_head.weight"] =
        extend_rows(ours["lm_head.weight"], config.vocab_size, seed + 1, "lm_head.weight", path);
  } else if (ours.count("lm_head.weight")) {
    GENSAR_WARN("model", "{}: checkpoint has an lm_head.weight but the model ties embeddings; "
                         "ignoring it (T5 v1.1 checkpoints want untied embeddings)", path);
    ours.erase("lm_head.weight");
    summary.unused.push_back("lm_head.weight");
  }
  summary.appended_rows = config.vocab_size - summary.pretrained_vocab;
  for (const auto& [name, dim] : model.partition_dims()) {
    GENSAR_INPUT_CHECK(ours.count(name), "{}: missing tensor {} (our {}) for this config", path,
                       our_name_to_hf(name), name);
  }
  summary.tensors_loaded = static_cast<int64_t>(ours.size());
  model.load_full_state_dict(ours);
  return summary;
}

void save_hf_t5(T5ModelImpl& model, const std::string& path) {
  auto full = model.full_state_dict();
  if (model.parallel().rank() != 0) return;
  std::map<std::string, torch::Tensor> hf;
  for (const auto& [name, tensor] : full) {
    const std::string mapped = our_name_to_hf(name);
    GENSAR_CHECK(!mapped.empty(), "parameter {} has no Hugging Face name", name);
    hf[mapped] = tensor;
  }
  write_safetensors(path, hf, {{"format", "pt"}});
}

}  // namespace gensar::model
