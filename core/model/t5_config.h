// Shape and behaviour of the T5 encoder-decoder (v1.0 / v1.1 style), with size presets and the
// parameter and FLOP counts that benchmarks report.
#pragma once

#include <cstdint>
#include <string>

namespace gensar::model {

enum class FeedForward { kRelu, kGatedGelu };

struct T5Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 128;
  int64_t d_kv = 64;       // per-head size; inner attention size is num_heads * d_kv
  int64_t num_heads = 6;
  int64_t d_ff = 1024;
  int64_t num_encoder_layers = 4;
  int64_t num_decoder_layers = 4;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  FeedForward feed_forward = FeedForward::kRelu;
  // Tied: the decoder output is scaled by d_model^-0.5 and multiplied by the shared embedding.
  bool tie_word_embeddings = true;
  double initializer_factor = 1.0;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t decoder_start_token_id = 0;  // T5 starts decoding from the pad token

  int64_t inner_dim() const { return num_heads * d_kv; }

  // TIGER's CPU-sized model: 4+4 layers, d_model 128, 6 heads of 64, FFN 1024, ReLU, dropout 0.1.
  static T5Config tiger(int64_t vocab_size);
  // Google's t5-small: 6+6 layers, d_model 512, 8 heads of 64, FFN 2048, ReLU, tied.
  static T5Config t5_small(int64_t vocab_size);
  // "tiger" or "t5-small"; throws InputError otherwise.
  static T5Config preset(const std::string& name, int64_t vocab_size);

  // Throws InputError naming the field when the config is unusable (with `tp_size` ranks).
  void validate(int tp_size = 1) const;
};

FeedForward parse_feed_forward(const std::string& name);  // "relu" | "gated-gelu"
std::string to_string(FeedForward ff);

// Rounds the vocabulary up so that it splits evenly over TP ranks (Megatron pads to a multiple).
int64_t pad_vocab_size(int64_t vocab_size, int64_t multiple);

// Number of trainable parameters of the full (unsharded) model.
int64_t parameter_count(const T5Config& config);

// Matrix-multiply FLOPs of one forward pass for one sample with `source_len` encoder tokens and
// `target_len` decoder tokens (2 FLOPs per multiply-add; norms, softmax and biases not counted).
// A training step costs about 3x the forward pass (backward = 2x forward).
double forward_flops_per_sample(const T5Config& config, int64_t source_len, int64_t target_len);
inline double train_flops_per_sample(const T5Config& config, int64_t source_len,
                                     int64_t target_len) {
  return 3.0 * forward_flops_per_sample(config, source_len, target_len);
}

}  // namespace gensar::model
