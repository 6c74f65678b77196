// The T5 blocks, tensor-parallel: attention (heads split over TP ranks), feed-forward (hidden units
// split), RMS norm, relative position bias (heads split). Used by t5_model.cpp; include
// core/model/t5_model.h to use the model.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/tensor_parallel/dropout_rng.h"
#include "core/tensor_parallel/layers.h"
#include "core/model/t5_config.h"

namespace gensar::model {

// Additive attention bias that removes a key: exp(kMaskBias - max) is exactly 0 in float.
constexpr float kMaskBias = -1e9f;

// T5's bucketing of (key position - query position): exact for small distances, logarithmic up to
// max_distance. Bidirectional (encoder) uses half the buckets per direction; causal (decoder)
// buckets only the past.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance);

// T5 layer norm: scale only, no mean subtraction, no bias.
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

class RelativePositionBiasImpl : public torch::nn::Module, public tp::PartitionedParameters {
 public:
  RelativePositionBiasImpl(const T5Config& config, bool bidirectional, tp::ParallelContext ctx);
  // Bias [1, heads/tp, Q, K] for query positions `query_positions` [Q] over keys 0..K-1.
  torch::Tensor forward(const torch::Tensor& query_positions, int64_t key_length);
  torch::Tensor weight;  // [num_buckets, heads/tp]

 private:
  bool bidirectional_;
  int64_t num_buckets_, max_distance_;
};
TORCH_MODULE(RelativePositionBias);

// K/V caches of one attention for incremental decoding. Self-attention grows by one position per
// step; cross-attention is computed from the encoder output once.
struct KvCache {
  torch::Tensor k, v;  // [N, heads/tp, positions, d_kv]
};

class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(const T5Config& config, tp::ParallelContext ctx);
  // x [B, T, D]; memory [B, S, D] for cross-attention or undefined for self-attention; bias
  // broadcastable to [B, heads/tp, T, S]. With a cache: self-attention appends this call's keys,
  // cross-attention (`memory` defined) computes them on the first call and reuses them after.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory,
                        const torch::Tensor& bias, bool train, tp::DropoutRng& rng,
                        KvCache* cache = nullptr);
  tp::ColumnParallelLinear q{nullptr}, k{nullptr}, v{nullptr};
  tp::RowParallelLinear o{nullptr};

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B, L, h*dk] -> [B, h, L, dk]
  tp::ParallelContext ctx_;
  int64_t local_heads_, d_kv_;
  double dropout_;
};
TORCH_MODULE(T5Attention);

class T5FeedForwardImpl : public torch::nn::Module {
 public:
  T5FeedForwardImpl(const T5Config& config, tp::ParallelContext ctx);
  torch::Tensor forward(const torch::Tensor& x, bool train, tp::DropoutRng& rng);
  tp::ColumnParallelLinear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr};  // wi (ReLU) or wi_0/wi_1 (gated)
  tp::RowParallelLinear wo{nullptr};

 private:
  tp::ParallelContext ctx_;
  FeedForward kind_;
  double dropout_;
};
TORCH_MODULE(T5FeedForward);

struct LayerCache {
  KvCache self, cross;
};

// Pre-norm residual block: self-attention, [cross-attention,] feed-forward.
class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Config& config, bool is_decoder, tp::ParallelContext ctx);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& self_bias,
                        const torch::Tensor& memory, const torch::Tensor& cross_bias, bool train,
                        tp::DropoutRng& rng, LayerCache* cache = nullptr);
  RmsNorm self_attn_norm{nullptr}, cross_attn_norm{nullptr}, ffn_norm{nullptr};
  T5Attention self_attn{nullptr}, cross_attn{nullptr};
  T5FeedForward ffn{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5Block);

// A stack of blocks with its relative position bias (computed once, shared by every layer, as in
// T5 where only the first layer owns it) and its final norm.
class T5StackImpl : public torch::nn::Module {
 public:
  T5StackImpl(const T5Config& config, bool is_decoder, tp::ParallelContext ctx);
  torch::nn::ModuleList layers{nullptr};
  RelativePositionBias relative_bias{nullptr};
  RmsNorm final_norm{nullptr};
  T5Block block(size_t i) const { return T5Block(layers->ptr<T5BlockImpl>(i)); }
};
TORCH_MODULE(T5Stack);

}  // namespace gensar::model
