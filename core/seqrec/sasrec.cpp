#include "core/seqrec/sasrec.h"

#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/seed.h"

namespace gensar::seqrec {

void SasRecConfig::validate() const {
  GENSAR_INPUT_CHECK(num_items > 0, "sasrec: num-items must be positive, got {}", num_items);
  GENSAR_INPUT_CHECK(max_len > 0, "sasrec: max-len must be positive, got {}", max_len);
  GENSAR_INPUT_CHECK(hidden > 0 && heads > 0 && hidden % heads == 0,
                     "sasrec: hidden ({}) must be a positive multiple of heads ({})", hidden, heads);
  GENSAR_INPUT_CHECK(blocks > 0, "sasrec: blocks must be positive, got {}", blocks);
  GENSAR_INPUT_CHECK(dropout >= 0.0 && dropout < 1.0, "sasrec: dropout must be in [0, 1), got {}",
                     dropout);
  GENSAR_INPUT_CHECK(loss == "bce" || loss == "ce", "sasrec: loss must be 'bce' or 'ce', got '{}'",
                     loss);
}

std::string SasRecConfig::to_json() const {
  nlohmann::json j = {{"num_items", num_items}, {"max_len", max_len}, {"hidden", hidden},
                      {"blocks", blocks},       {"heads", heads},     {"dropout", dropout},
                      {"loss", loss}};
  return j.dump();
}

SasRecConfig SasRecConfig::from_json(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  SasRecConfig c;
  c.num_items = j.at("num_items").get<int64_t>();
  c.max_len = j.at("max_len").get<int64_t>();
  c.hidden = j.at("hidden").get<int64_t>();
  c.blocks = j.at("blocks").get<int64_t>();
  c.heads = j.at("heads").get<int64_t>();
  c.dropout = j.at("dropout").get<double>();
  c.loss = j.at("loss").get<std::string>();
  c.validate();
  return c;
}

namespace {

// Causal multi-head self-attention; queries come from the normalised input, keys/values from the
// raw input, as in the reference implementation.
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t hidden, int64_t heads, double dropout)
      : heads(heads), head_dim(hidden / heads),
        q(register_module("q", torch::nn::Linear(hidden, hidden))),
        // No key bias: it adds q.b to every score of a query, which softmax cancels, so its
        // gradient is rounding noise that Adam would turn into lr-sized random steps.
        k(register_module("k", torch::nn::Linear(torch::nn::LinearOptions(hidden, hidden).bias(false)))),
        v(register_module("v", torch::nn::Linear(hidden, hidden))),
        out(register_module("out", torch::nn::Linear(hidden, hidden))),
        drop(register_module("drop", torch::nn::Dropout(dropout))) {}

  torch::Tensor forward(const torch::Tensor& query_in, const torch::Tensor& kv_in,
                        const torch::Tensor& blocked) {
    const int64_t b = query_in.size(0), l = query_in.size(1);
    auto split = [&](const torch::Tensor& x) {
      return x.view({b, l, heads, head_dim}).transpose(1, 2);  // [B, h, L, d]
    };
    torch::Tensor qh = split(q(query_in)), kh = split(k(kv_in)), vh = split(v(kv_in));
    torch::Tensor scores = torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(head_dim));
    scores = scores.masked_fill(blocked, -1e9);  // [L, L] causal mask broadcast over B, h
    torch::Tensor attn = drop(torch::softmax(scores, -1));
    torch::Tensor ctx = torch::matmul(attn, vh).transpose(1, 2).contiguous().view({b, l, -1});
    return out(ctx);
  }

  int64_t heads, head_dim;
  torch::nn::Linear q, k, v, out;
  torch::nn::Dropout drop;
};
TORCH_MODULE(Attention);

struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t hidden, int64_t heads, double dropout)
      : attn_norm(register_module("attn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}).eps(1e-8)))),
        attn(register_module("attn", Attention(hidden, heads, dropout))),
        ffn_norm(register_module("ffn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}).eps(1e-8)))),
        ffn1(register_module("ffn1", torch::nn::Linear(hidden, hidden))),
        ffn2(register_module("ffn2", torch::nn::Linear(hidden, hidden))),
        drop1(register_module("drop1", torch::nn::Dropout(dropout))),
        drop2(register_module("drop2", torch::nn::Dropout(dropout))) {}

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& blocked, const torch::Tensor& keep) {
    torch::Tensor qn = attn_norm(x);
    x = qn + attn(qn, x, blocked);
    torch::Tensor h = ffn_norm(x);
    x = h + drop2(ffn2(drop1(torch::relu(ffn1(h)))));
    return x * keep;  // padded positions stay zero
  }

  torch::nn::LayerNorm attn_norm;
  Attention attn;
  torch::nn::LayerNorm ffn_norm;
  torch::nn::Linear ffn1, ffn2;
  torch::nn::Dropout drop1, drop2;
};
TORCH_MODULE(Block);

struct SasRecModuleImpl : torch::nn::Module {
  explicit SasRecModuleImpl(const SasRecConfig& c)
      : hidden(c.hidden),
        items(register_module("items", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.num_items + 1, c.hidden).padding_idx(0)))),
        positions(register_module("positions", torch::nn::Embedding(c.max_len, c.hidden))),
        emb_drop(register_module("emb_drop", torch::nn::Dropout(c.dropout))),
        final_norm(register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(1e-8)))) {
    for (int64_t i = 0; i < c.blocks; ++i)
      blocks.push_back(register_module("block" + std::to_string(i), Block(c.hidden, c.heads, c.dropout)));
    // Xavier-normal on every matrix, as the reference PyTorch port does; the padding row stays 0.
    torch::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      if (p.value().dim() >= 2) torch::nn::init::xavier_normal_(p.value());
    }
    items->weight[0].zero_();
  }

  torch::Tensor forward(const torch::Tensor& inputs) {
    const int64_t l = inputs.size(1);
    torch::Tensor x = items(inputs) * std::sqrt(double(hidden));
    x = x + positions(torch::arange(l, inputs.options()));
    x = emb_drop(x);
    torch::Tensor keep = (inputs != 0).unsqueeze(-1).to(x.dtype());
    x = x * keep;
    torch::Tensor blocked =
        torch::ones({l, l}, torch::TensorOptions().dtype(torch::kBool).device(inputs.device())).triu(1);
    for (auto& block : blocks) x = block->forward(x, blocked, keep);
    return final_norm(x);
  }

  int64_t hidden;
  torch::nn::Embedding items, positions;
  torch::nn::Dropout emb_drop;
  std::vector<Block> blocks;
  torch::nn::LayerNorm final_norm;
};
TORCH_MODULE(SasRecModule);

}  // namespace

struct SasRec::Net {
  SasRecModule module{nullptr};
};

SasRec::SasRec(const SasRecConfig& config, uint64_t seed) : config_(config), net_(new Net) {
  config_.validate();
  torch::manual_seed(seed::derive(seed, seed::Purpose::kSasRec));
  net_->module = SasRecModule(config_);
}
SasRec::~SasRec() = default;
SasRec::SasRec(SasRec&&) noexcept = default;
SasRec& SasRec::operator=(SasRec&&) noexcept = default;

torch::Tensor SasRec::encode(const torch::Tensor& inputs) { return net_->module->forward(inputs); }

std::pair<torch::Tensor, int64_t> SasRec::loss_sum(const SasRecBatch& batch) {
  torch::Tensor h = encode(batch.inputs);  // [B, L, H]
  torch::Tensor mask = batch.positives != 0;
  const int64_t count = mask.sum().item<int64_t>();
  torch::Tensor table = net_->module->items->weight;
  if (config_.loss == "ce") {
    torch::Tensor hs = h.index({mask});                        // [N, H]
    torch::Tensor logits = torch::matmul(hs, table.slice(0, 1).t());  // [N, I]
    torch::Tensor target = batch.positives.index({mask}) - 1;
    return {torch::nn::functional::cross_entropy(
                logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)),
            count};
  }
  torch::Tensor pos_logit = (h * net_->module->items(batch.positives)).sum(-1);
  torch::Tensor neg_logit = (h * net_->module->items(batch.negatives)).sum(-1);
  torch::Tensor per_pos = torch::nn::functional::softplus(-pos_logit) +  // -log sigmoid(pos)
                          torch::nn::functional::softplus(neg_logit);    // -log(1 - sigmoid(neg))
  return {per_pos.masked_select(mask).sum(), count};
}

torch::Tensor SasRec::left_pad(const std::vector<std::vector<int64_t>>& histories) const {
  const int64_t l = config_.max_len;
  torch::Tensor out = torch::zeros({static_cast<int64_t>(histories.size()), l}, torch::kInt64);
  auto acc = out.accessor<int64_t, 2>();
  for (size_t b = 0; b < histories.size(); ++b) {
    const auto& h = histories[b];
    const int64_t n = std::min<int64_t>(l, static_cast<int64_t>(h.size()));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t item = h[h.size() - n + i];
      GENSAR_INPUT_CHECK(item >= 0 && item < config_.num_items,
                         "sasrec: history item {} outside the catalogue [0, {})", item, config_.num_items);
      acc[b][l - n + i] = item + 1;
    }
  }
  return out;
}

torch::Tensor SasRec::score_all_batch(const std::vector<std::vector<int64_t>>& histories) {
  torch::NoGradGuard no_grad;
  const bool was_training = net_->module->is_training();
  net_->module->eval();
  torch::Tensor h = encode(left_pad(histories)).select(1, config_.max_len - 1);  // [B, H]
  torch::Tensor scores = torch::matmul(h, net_->module->items->weight.slice(0, 1).t());
  net_->module->train(was_training);
  return scores;
}

torch::Tensor SasRec::score_all(const std::vector<int64_t>& history) {
  return score_all_batch({history}).squeeze(0);
}

torch::Tensor SasRec::score(const std::vector<int64_t>& history,
                            const std::vector<int64_t>& candidates) {
  torch::NoGradGuard no_grad;
  for (int64_t c : candidates)
    GENSAR_INPUT_CHECK(c >= 0 && c < config_.num_items,
                       "sasrec: candidate item {} outside the catalogue [0, {})", c, config_.num_items);
  const bool was_training = net_->module->is_training();
  net_->module->eval();
  torch::Tensor h = encode(left_pad({history})).select(1, config_.max_len - 1).squeeze(0);  // [H]
  torch::Tensor ids = torch::tensor(candidates, torch::kInt64) + 1;
  torch::Tensor scores = torch::matmul(net_->module->items(ids), h);
  net_->module->train(was_training);
  return scores;
}

torch::Tensor SasRec::item_embeddings() {
  torch::NoGradGuard no_grad;
  return net_->module->items->weight.slice(0, 1).detach().clone().contiguous();
}

std::vector<torch::Tensor> SasRec::parameters() { return net_->module->parameters(); }

void SasRec::train(bool on) { net_->module->train(on); }

void SasRec::save(const std::string& path) {
  torch::serialize::OutputArchive archive;
  net_->module->save(archive);
  archive.write("sasrec_config", c10::IValue(config_.to_json()));
  archive.save_to(path);
}

SasRec SasRec::load(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: not a SASRec model file ({})", path, e.what()));
  }
  c10::IValue config_json;
  GENSAR_INPUT_CHECK(archive.try_read("sasrec_config", config_json),
                     "{}: no 'sasrec_config' entry; not a SASRec model file", path);
  SasRec model(SasRecConfig::from_json(config_json.toStringRef()), 0);
  model.net_->module->load(archive);
  return model;
}

}  // namespace gensar::seqrec
