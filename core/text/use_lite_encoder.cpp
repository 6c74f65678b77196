#include "core/text/use_lite_encoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "core/common/check.h"
#include "core/text/tfjs_weights.h"
#include "core/text/unigram_tokenizer.h"

namespace gensar::text {

namespace {

// Names in the TF.js graph (prefixes shortened).
const char* const kEncode = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
const char* const kStack = "module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/";
const char* const kKernels = "module/Encoder_en/KonaTransformer/Encode/";
constexpr int64_t kMaxTokens = 128;  // ClipToMaxLength: token positions >= 128 are dropped
constexpr int64_t kHeads = 4;
constexpr double kLayerNormEps = 1e-6;

struct LayerNorm {
  torch::Tensor scale, bias;
  torch::Tensor operator()(const torch::Tensor& x) const {
    return torch::layer_norm(x, {scale.size(0)}, scale, bias, kLayerNormEps);
  }
};

struct TransformerLayer {
  LayerNorm attention_norm, ffn_norm;
  torch::Tensor qkv_w, qkv_b, out_w, out_b;    // [in, 3*inner], [inner, 512]
  torch::Tensor ffn1_w, ffn1_b, ffn2_w, ffn2_b;  // [512, 1536], [1536, 512]
  torch::Tensor residual_w, residual_b;          // layer 0 only: 256 -> 512 residual projection
  int64_t inner = 0;                             // attention width (256 in layer 0, 512 in layer 1)
};

class UseLiteEncoder : public TextEncoder {
 public:
  explicit UseLiteEncoder(const UseLiteOptions& options)
      : batch_size_(std::max<int64_t>(1, options.batch_size)),
        shard_(options.shard),
        num_shards_(options.num_shards),
        tokenizer_(UnigramTokenizer::from_vocab_json(options.model_dir + "/vocab.json")) {
    auto w = load_tfjs_weights(options.model_dir);
    auto get = [&](const std::string& name) {
      auto it = w.find(name);
      GENSAR_INPUT_CHECK(it != w.end(), "{}/model.json: weight {} missing (not USE-lite?)",
                         options.model_dir, name);
      return it->second;
    };
    embeddings_ = get("module/Embeddings_en");
    inv_timescales_ = get(std::string(kStack) + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1").view({-1});
    for (int l = 0; l < 2; ++l) {
      const std::string p = std::string(kEncode) + "Layer_" + std::to_string(l) + "/TransformerLayer/";
      const std::string s = std::string(kStack) + "Layer_" + std::to_string(l) + "/TransformerLayer/";
      const std::string k = std::string(kKernels) + "Layer_" + std::to_string(l) + "/TransformerLayer/";
      const std::string concat = "/ConcatPartitions/concat";
      TransformerLayer layer;
      layer.attention_norm = {get(p + "layer_prepostprocess/layer_norm/layer_norm_scale" + concat),
                              get(p + "layer_prepostprocess/layer_norm/layer_norm_bias" + concat)};
      layer.ffn_norm = {get(p + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale" + concat),
                        get(p + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias" + concat)};
      auto qkv = get(k + "MultiheadAttention/qkv_transform_single/kernel/part_0");
      layer.qkv_w = qkv.view({qkv.size(2), qkv.size(3)});
      layer.qkv_b = get(p + "MultiheadAttention/qkv_transform_single/bias" + concat);
      auto out = get(k + "MultiheadAttention/output_transform_single/kernel/part_0");
      layer.out_w = out.view({out.size(2), out.size(3)});
      layer.out_b = get(p + "MultiheadAttention/output_transform_single/bias" + concat);
      layer.ffn1_w = get(s + "FFN/conv1/Tensordot/Reshape_1");
      layer.ffn1_b = get(p + "FFN/conv1/bias" + concat);
      layer.ffn2_w = get(s + "FFN/conv2/Tensordot/Reshape_1");
      layer.ffn2_b = get(p + "FFN/conv2/bias" + concat);
      layer.inner = layer.qkv_w.size(1) / 3;
      if (l == 0) {
        layer.residual_w = get(p + "dense/kernel" + concat);
        layer.residual_b = get(p + "dense/bias" + concat);
      }
      layers_.push_back(layer);
    }
    head_w_ = get("module/Encoder_en/hidden_layers/tanh_layer_0/weights");
    head_b_ = get("module/Encoder_en/hidden_layers/tanh_layer_0/bias");
  }

  int64_t dim() const override { return head_w_.size(1); }
  std::string name() const override { return "use-lite"; }

  torch::Tensor encode(const std::vector<std::string>& texts) override {
    torch::NoGradGuard no_grad;
    const int64_t n = static_cast<int64_t>(texts.size());
    GENSAR_CHECK(num_shards_ >= 1 && shard_ >= 0 && shard_ < num_shards_, "use-lite shard {} of {}", shard_,
                 num_shards_);
    torch::Tensor out = torch::zeros({n, dim()}, torch::kFloat32);
    std::vector<std::vector<int32_t>> ids(texts.size());
    for (int64_t i = 0; i < n; ++i) {
      ids[i] = tokenizer_.encode(texts[i]);
      if (static_cast<int64_t>(ids[i].size()) > kMaxTokens) ids[i].resize(kMaxTokens);
    }
    // Batches of similar length waste less work on padding; padding never changes a result
    // (masked keys get -1e9, pooling ignores padded positions), so the order is free.
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return ids[a].size() < ids[b].size(); });
    for (int64_t begin = 0, index = 0; begin < n; begin += batch_size_, ++index) {
      if (index % num_shards_ != shard_) continue;
      const int64_t end = std::min(n, begin + batch_size_);
      std::vector<const std::vector<int32_t>*> batch;
      for (int64_t i = begin; i < end; ++i) batch.push_back(&ids[order[i]]);
      torch::Tensor vectors = forward(batch);
      for (int64_t i = begin; i < end; ++i) out[order[i]] = vectors[i - begin];
    }
    return out;
  }

 private:
  torch::Tensor forward(const std::vector<const std::vector<int32_t>*>& batch) const {
    const int64_t b = static_cast<int64_t>(batch.size());
    int64_t length = 1;
    for (const auto* ids : batch) length = std::max<int64_t>(length, ids->size());
    torch::Tensor token_ids = torch::zeros({b, length}, torch::kLong);
    torch::Tensor mask = torch::zeros({b, length}, torch::kFloat32);
    auto ids_a = token_ids.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<float, 2>();
    for (int64_t i = 0; i < b; ++i) {
      const auto& ids = *batch[i];
      for (size_t j = 0; j < ids.size(); ++j) {
        GENSAR_CHECK(ids[j] >= 0 && ids[j] < embeddings_.size(0), "token id {} out of range", ids[j]);
        ids_a[i][j] = ids[j];
        mask_a[i][j] = 1.0f;
      }
    }
    // The graph adds the token embedding to (embedding + timing signal), so the input is
    // 2 * embedding + [sin(p*t), cos(p*t)]; padding stays zero.
    torch::Tensor positions = torch::arange(length, torch::kFloat32).unsqueeze(1) * inv_timescales_.unsqueeze(0);
    torch::Tensor timing = torch::cat({torch::sin(positions), torch::cos(positions)}, 1);
    torch::Tensor embedded = embeddings_.index_select(0, token_ids.view({-1})).view({b, length, -1});
    torch::Tensor x = (embedded + (embedded + timing)) * mask.unsqueeze(2);
    // Additive attention bias over keys: -1e9 on padding.
    torch::Tensor key_bias = ((1.0f - mask) * -1e9f).view({b, 1, 1, length});
    for (const TransformerLayer& layer : layers_) x = transformer_layer(layer, x, key_bias);
    // Mean over real tokens, then tanh projection and L2 normalisation.
    torch::Tensor counts = mask.sum(1, true).clamp_min(1.0f);
    torch::Tensor pooled = (x * mask.unsqueeze(2)).sum(1) / counts;
    torch::Tensor h = torch::tanh(torch::addmm(head_b_, pooled, head_w_));
    return h * torch::rsqrt(h.square().sum(1, true).clamp_min(1e-12f));
  }

  static torch::Tensor transformer_layer(const TransformerLayer& layer, const torch::Tensor& x,
                                         const torch::Tensor& key_bias) {
    const int64_t b = x.size(0), length = x.size(1);
    const int64_t head_dim = layer.inner / kHeads;
    // Pre-norm self-attention; layer 0 projects its 256-d residual up to 512.
    torch::Tensor residual = layer.residual_w.defined() ? torch::matmul(x, layer.residual_w) + layer.residual_b : x;
    torch::Tensor qkv = torch::matmul(layer.attention_norm(x), layer.qkv_w) + layer.qkv_b;
    auto parts = qkv.split(layer.inner, 2);
    auto heads = [&](const torch::Tensor& t) {
      return t.reshape({b, length, kHeads, head_dim}).transpose(1, 2);
    };
    torch::Tensor q = heads(parts[0]) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
    torch::Tensor logits = torch::matmul(q, heads(parts[1]).transpose(2, 3)) + key_bias;
    torch::Tensor context = torch::matmul(torch::softmax(logits, -1), heads(parts[2]));
    context = context.transpose(1, 2).reshape({b, length, layer.inner});
    torch::Tensor h = torch::matmul(context, layer.out_w) + layer.out_b + residual;
    // Pre-norm ReLU feed-forward.
    torch::Tensor f = torch::relu(torch::matmul(layer.ffn_norm(h), layer.ffn1_w) + layer.ffn1_b);
    return torch::matmul(f, layer.ffn2_w) + layer.ffn2_b + h;
  }

  int64_t batch_size_;
  int shard_, num_shards_;
  UnigramTokenizer tokenizer_;
  torch::Tensor embeddings_, inv_timescales_, head_w_, head_b_;
  std::vector<TransformerLayer> layers_;
};

}  // namespace

std::string default_use_lite_dir() {
  if (const char* dir = std::getenv("GENSAR_USE_LITE_DIR"); dir && *dir) return dir;
  return GENSAR_USE_LITE_DEFAULT_DIR;
}

std::unique_ptr<TextEncoder> make_use_lite_encoder(const UseLiteOptions& options) {
  return std::make_unique<UseLiteEncoder>(options);
}

}  // namespace gensar::text
