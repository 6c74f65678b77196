// The T5 encoder-decoder (v1.0 / v1.1 style) with Megatron tensor parallelism.
//
// Parameter names (ours; core/model/hf_t5.h maps them to Hugging Face names), with the dim each
// layer declares it split along (partition_dims()):
//   shared.weight                                  [V, D]   vocab-sharded (dim 0)
//   {encoder,decoder}.layers.{i}.self_attn.{q,k,v}.weight  [H*dk, D] (dim 0), .o.weight [D, H*dk] (dim 1)
//   decoder.layers.{i}.cross_attn.{q,k,v,o}.weight  as above
//   {encoder,decoder}.layers.{i}.{self_attn,cross_attn,ffn}_norm.weight  [D] replicated
//   {encoder,decoder}.layers.{i}.ffn.{wi | wi_0, wi_1}.weight [F, D] (dim 0), .ffn.wo.weight [D, F] (dim 1)
//   {encoder,decoder}.relative_bias.weight         [32, H]  head-sharded (dim 1)
//   {encoder,decoder}.final_norm.weight            [D]
//   lm_head.weight                                 [V, D]   (untied only; dim 0)
// Initialisation draws each full (unsharded) matrix from a generator seeded by (seed, name) and
// keeps this rank's shard, so a model is the same whatever the TP size and construction order.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/decoding/seq2seq.h"
#include "core/tensor_parallel/dropout_rng.h"
#include "core/tensor_parallel/layers.h"
#include "core/model/t5_config.h"
#include "core/model/t5_layers.h"

namespace gensar::model {

struct T5Output {
  torch::Tensor logits;        // [B, T, V/tp] this rank's vocabulary shard (full V when tp = 1)
  torch::Tensor loss;          // scalar: mean cross-entropy over tokens whose label != -100
  torch::Tensor example_loss;  // [B]: mean cross-entropy over each example's labelled tokens
  torch::Tensor token_count;   // [B]: labelled tokens per example (int64)
  torch::Tensor token_loss;    // [B, T]: cross-entropy per label token (0 where label == -100)
};

// Incremental decoding state: encoder output, its mask, and per decoder layer the K/V caches.
// Decoder rows are grouped by case: rows [c * rows_per_case, (c + 1) * rows_per_case) all decode
// case c (the beams of one input). The encoder output, the cross-attention bias and the
// cross-attention keys/values are kept once per case, not once per row: beam search's reorders
// stay inside a case, so only the small self-attention caches move. A reorder that mixes cases
// (or gives cases different row counts) expands the per-case tensors to rows first.
struct T5DecodeState : decoding::DecodeState {
  torch::Tensor encoder_out;  // [cases, S, D]
  torch::Tensor cross_bias;   // [cases, 1, 1, S]
  std::vector<LayerCache> layers;
  int64_t step = 0;           // positions decoded so far
  int64_t rows_per_case = 1;  // decoder rows = cases x rows_per_case
};

class T5ModelImpl : public torch::nn::Module {
 public:
  explicit T5ModelImpl(const T5Config& config, tp::CommunicatorPtr tp = nullptr,
                       uint64_t init_seed = 0);

  // Teacher-forced training forward. attention_mask [B, S] (1 = real token); labels [B, T] with
  // -100 for ignored positions (may be undefined: no loss). Dropout follows is_training().
  T5Output forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                   const torch::Tensor& decoder_input_ids, const torch::Tensor& labels);
  torch::Tensor encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);
  // Vocab-parallel logits [B, T, V/tp] of a causal decoder pass over decoder_input_ids.
  torch::Tensor decode(const torch::Tensor& encoder_out, const torch::Tensor& attention_mask,
                       const torch::Tensor& decoder_input_ids);
  // All-gathers vocab-parallel logits over TP ranks into [..., V] (collective when tp > 1).
  torch::Tensor gather_logits(const torch::Tensor& local_logits);

  // Incremental decoding (no gradients, no dropout); collective over TP ranks when tp > 1.
  std::unique_ptr<T5DecodeState> start_decoding(const torch::Tensor& input_ids,
                                                const torch::Tensor& attention_mask);
  torch::Tensor decode_step(T5DecodeState& state, const torch::Tensor& last_tokens);  // [N, V]
  // The same step's logits at `columns` only ([N, M], not normalised): M output rows of the
  // projection instead of V, and no softmax (Seq2SeqScorer::step_columns).
  torch::Tensor decode_step_columns(T5DecodeState& state, const torch::Tensor& last_tokens,
                                    const torch::Tensor& columns);
  void reorder(T5DecodeState& state, const torch::Tensor& index);

  // Parameter name -> the dim it is split along over TP ranks, or tp::kReplicated (-1), as its
  // layer declared when it was created (core/tensor_parallel/partition.h). Depends only on the
  // config, not on the TP size: a TP=1 model answers for checkpoints of any TP size.
  const std::map<std::string, int>& partition_dims() const { return partition_dims_; }
  // One parameter's entry of partition_dims(); an unknown name is an error.
  int partition_dim(const std::string& name) const;
  // Full (unsharded) parameters by name; a collective over TP ranks when tp > 1.
  std::map<std::string, torch::Tensor> full_state_dict();
  // Copies this rank's shard of each full parameter; every parameter must be present.
  void load_full_state_dict(const std::map<std::string, torch::Tensor>& full);
  void reset_parameters(uint64_t seed);

  const T5Config& config() const { return config_; }
  const tp::ParallelContext& parallel() const { return ctx_; }
  tp::DropoutRng& dropout_rng() { return rng_; }

  tp::VocabParallelEmbedding shared{nullptr};
  T5Stack encoder{nullptr}, decoder{nullptr};
  tp::ColumnParallelLinear lm_head{nullptr};  // untied only

 private:
  torch::Tensor run_decoder(torch::Tensor hidden, const torch::Tensor& self_bias,
                            const torch::Tensor& memory, const torch::Tensor& cross_bias,
                            bool train, std::vector<LayerCache>* caches);
  torch::Tensor output_logits(const torch::Tensor& decoder_hidden);
  // What the output projection multiplies: the decoder output, rescaled when it is tied.
  torch::Tensor output_input(const torch::Tensor& decoder_hidden) const;
  // One KV-cached decoder step: the final hidden states [N, 1, d_model].
  torch::Tensor decode_step_hidden(T5DecodeState& state, const torch::Tensor& last_tokens);

  T5Config config_;
  tp::ParallelContext ctx_;
  tp::DropoutRng rng_;
  std::map<std::string, int> partition_dims_;  // filled once all layers are registered
};
TORCH_MODULE(T5Model);

// partition_dims() of a model with this config, without a TP group or full-size tensors: for code
// that works on parameter files only (checkpoint conversion). Old checkpoints need no record of
// their own, since model.json holds the config.
std::map<std::string, int> partition_dims_for(const T5Config& config);

// Padding mask [B, S] (1 = real) -> additive attention bias [B, 1, 1, S].
torch::Tensor padding_bias(const torch::Tensor& attention_mask);

}  // namespace gensar::model
