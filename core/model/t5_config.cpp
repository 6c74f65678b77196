#include "core/model/t5_config.h"

#include "core/common/check.h"

#include <map>
#include <sstream>
#include <string>

namespace gensar::model {

T5Config T5Config::tiger(int64_t vocab_size) {
  T5Config c;
  c.vocab_size = vocab_size;
  c.d_model = 128;
  c.d_kv = 64;
  c.num_heads = 6;
  c.d_ff = 1024;
  c.num_encoder_layers = 4;
  c.num_decoder_layers = 4;
  c.dropout_rate = 0.1;
  c.feed_forward = FeedForward::kRelu;
  return c;
}

T5Config T5Config::t5_small(int64_t vocab_size) {
  T5Config c;
  c.vocab_size = vocab_size;
  c.d_model = 512;
  c.d_kv = 64;
  c.num_heads = 8;
  c.d_ff = 2048;
  c.num_encoder_layers = 6;
  c.num_decoder_layers = 6;
  c.dropout_rate = 0.1;
  c.feed_forward = FeedForward::kRelu;
  return c;
}

// "NAME" or "NAME:key=value,key=value": a named size with some dimensions changed, so that a
// config file can choose a model shape (the checkpoint's model.json records the result).
T5Config T5Config::preset(const std::string& spec, int64_t vocab_size) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  T5Config c;
  if (name == "tiger") {
    c = tiger(vocab_size);
  } else if (name == "t5-small") {
    c = t5_small(vocab_size);
  } else {
    GENSAR_INPUT_CHECK(false, "unknown model preset '{}' (expected tiger or t5-small, optionally "
                       "followed by :key=value,... overrides)", name);
  }
  if (colon == std::string::npos) return c;
  const std::map<std::string, int64_t*> keys = {
      {"d_model", &c.d_model}, {"d_kv", &c.d_kv}, {"heads", &c.num_heads}, {"d_ff", &c.d_ff},
      {"encoder_layers", &c.num_encoder_layers}, {"decoder_layers", &c.num_decoder_layers}};
  std::stringstream list(spec.substr(colon + 1));
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    GENSAR_INPUT_CHECK(eq != std::string::npos && keys.count(key),
                       "--preset '{}': '{}' is not key=value with a key among d_model, d_kv, heads, "
                       "d_ff, encoder_layers, decoder_layers", spec, item);
    const std::string value = item.substr(eq + 1);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GENSAR_INPUT_CHECK(used == value.size() && !value.empty() && v > 0,
                       "--preset '{}': {} must be a positive whole number, got '{}'", spec, key, value);
    *keys.at(key) = v;
  }
  return c;
}

void T5Config::validate(int tp_size) const {
  GENSAR_INPUT_CHECK(vocab_size > 0 && d_model > 0 && d_kv > 0 && num_heads > 0 && d_ff > 0,
                     "model sizes must be positive (vocab {}, d_model {}, d_kv {}, heads {}, "
                     "d_ff {})", vocab_size, d_model, d_kv, num_heads, d_ff);
  GENSAR_INPUT_CHECK(num_encoder_layers > 0 && num_decoder_layers > 0,
                     "model needs at least one encoder and one decoder layer");
  GENSAR_INPUT_CHECK(dropout_rate >= 0 && dropout_rate < 1, "dropout {} not in [0, 1)",
                     dropout_rate);
  GENSAR_INPUT_CHECK(num_heads % tp_size == 0, "{} attention heads do not split over {} TP ranks",
                     num_heads, tp_size);
  GENSAR_INPUT_CHECK(d_ff % tp_size == 0, "d_ff {} does not split over {} TP ranks", d_ff,
                     tp_size);
  GENSAR_INPUT_CHECK(vocab_size % tp_size == 0,
                     "vocabulary {} does not split over {} TP ranks (pad it with pad_vocab_size)",
                     vocab_size, tp_size);
}

FeedForward parse_feed_forward(const std::string& name) {
  if (name == "relu") return FeedForward::kRelu;
  if (name == "gated-gelu") return FeedForward::kGatedGelu;
  GENSAR_INPUT_CHECK(false, "unknown feed-forward '{}' (expected relu or gated-gelu)", name);
  return FeedForward::kRelu;
}

std::string to_string(FeedForward ff) { return ff == FeedForward::kRelu ? "relu" : "gated-gelu"; }

int64_t pad_vocab_size(int64_t vocab_size, int64_t multiple) {
  GENSAR_CHECK(multiple > 0, "pad multiple {} must be positive", multiple);
  return (vocab_size + multiple - 1) / multiple * multiple;
}

int64_t parameter_count(const T5Config& c) {
  const int64_t d = c.d_model, inner = c.inner_dim();
  const int64_t attention = 4 * d * inner;
  const int64_t ffn = (c.feed_forward == FeedForward::kGatedGelu ? 3 : 2) * d * c.d_ff;
  const int64_t rel_bias = c.relative_attention_num_buckets * c.num_heads;
  int64_t n = c.vocab_size * d;                                         // shared embedding
  n += c.num_encoder_layers * (attention + ffn + 2 * d) + rel_bias + d;  // + final norm
  n += c.num_decoder_layers * (2 * attention + ffn + 3 * d) + rel_bias + d;
  if (!c.tie_word_embeddings) n += c.vocab_size * d;
  return n;
}

double forward_flops_per_sample(const T5Config& c, int64_t s, int64_t t) {
  const double d = c.d_model, inner = c.inner_dim(), ff = c.d_ff;
  const double ffn = (c.feed_forward == FeedForward::kGatedGelu ? 3 : 2) * d * ff;
  // Per token: projections and FFN; per token pair: scores and weighted sum (2 * inner each).
  double enc = s * (4 * d * inner + ffn) + 2.0 * s * s * inner;
  double dec = t * (4 * d * inner + ffn)          // self-attention projections + FFN
               + t * 2 * d * inner                // cross-attention q and o
               + s * 2 * d * inner                // cross-attention k and v over encoder tokens
               + 2.0 * t * t * inner + 2.0 * t * s * inner;
  double head = t * d * static_cast<double>(c.vocab_size);
  return 2.0 * (c.num_encoder_layers * enc + c.num_decoder_layers * dec + head);
}

}  // namespace gensar::model
