#include "core/model/t5_layers.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/cpu_gemm.h"
#include "core/tensor_parallel/fused_dropout.h"

namespace gensar::model {
namespace F = torch::nn::functional;

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance) {
  auto buckets = torch::zeros_like(relative_position);
  auto distance = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (relative_position > 0).to(torch::kLong) * num_buckets;
    distance = relative_position.abs();
  } else {
    distance = -torch::clamp_max(relative_position, 0);
  }
  const int64_t max_exact = num_buckets / 2;
  auto is_small = distance < max_exact;
  // clamp_min(1) keeps log() finite on the small distances that torch::where discards anyway.
  auto large = max_exact + (torch::log(distance.clamp_min(1).to(torch::kFloat) / max_exact) /
                            std::log(static_cast<double>(max_distance) / max_exact) *
                            (num_buckets - max_exact))
                               .to(torch::kLong);
  large = torch::clamp_max(large, num_buckets - 1);
  return buckets + torch::where(is_small, distance, large);
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  auto variance = x.pow(2).mean(-1, true);
  return x * torch::rsqrt(variance + eps_) * weight;
}

RelativePositionBiasImpl::RelativePositionBiasImpl(const T5Config& config, bool bidirectional,
                                                   tp::ParallelContext ctx)
    : bidirectional_(bidirectional),
      num_buckets_(config.relative_attention_num_buckets),
      max_distance_(config.relative_attention_max_distance) {
  // One column per attention head: split like the heads of the attention it biases.
  weight = register_partitioned(
      *this, "weight", torch::empty({num_buckets_, config.num_heads / ctx.size()}), 1);
}

torch::Tensor RelativePositionBiasImpl::forward(const torch::Tensor& query_positions,
                                                int64_t key_length) {
  auto keys = torch::arange(key_length, torch::kLong);
  auto relative = keys.unsqueeze(0) - query_positions.to(torch::kLong).unsqueeze(1);  // [Q, K]
  auto buckets = relative_position_bucket(relative, bidirectional_, num_buckets_, max_distance_);
  return F::embedding(buckets, weight).permute({2, 0, 1}).unsqueeze(0);  // [1, h, Q, K]
}

T5AttentionImpl::T5AttentionImpl(const T5Config& config, tp::ParallelContext ctx)
    : ctx_(std::move(ctx)),
      local_heads_(config.num_heads / ctx_.size()),
      d_kv_(config.d_kv),
      dropout_(config.dropout_rate) {
  const int64_t d = config.d_model, inner = config.inner_dim();
  q = register_module("q", tp::ColumnParallelLinear(d, inner, ctx_));
  k = register_module("k", tp::ColumnParallelLinear(d, inner, ctx_));
  v = register_module("v", tp::ColumnParallelLinear(d, inner, ctx_));
  o = register_module("o", tp::RowParallelLinear(inner, d, ctx_));
}

torch::Tensor T5AttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), local_heads_, d_kv_}).transpose(1, 2);
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                       const torch::Tensor& bias, bool train, tp::DropoutRng& rng,
                                       KvCache* cache) {
  const bool cross = memory.defined();
  auto x_in = tp::copy_to_tp_region(x, ctx_.tp);
  auto query = split_heads(q->forward_in_region(x_in));
  torch::Tensor key, value;
  if (cross && cache && cache->k.defined()) {
    key = cache->k;
    value = cache->v;
  } else {
    auto source = cross ? tp::copy_to_tp_region(memory, ctx_.tp) : x_in;
    key = split_heads(k->forward_in_region(source));
    value = split_heads(v->forward_in_region(source));
    if (cache) {
      if (!cross && cache->k.defined()) {
        key = torch::cat({cache->k, key}, 2);
        value = torch::cat({cache->v, value}, 2);
      }
      cache->k = key;
      cache->v = value;
    }
  }
  if (cross && key.size(0) != query.size(0)) {
    // Decoding with per-case keys (T5DecodeState): the rows of one case attend to the same memory,
    // so their queries go through one matmul per case and head, and the memory is never copied
    // per beam.
    const int64_t cases = key.size(0), rows = query.size(0), per_case = rows / cases;
    const int64_t tq = query.size(2);
    auto q = query.reshape({cases, per_case, local_heads_, tq, d_kv_})
                 .permute({0, 2, 1, 3, 4})
                 .reshape({cases, local_heads_, per_case * tq, d_kv_});
    auto scores = gemm::matmul(q, key.transpose(-1, -2));
    if (bias.defined()) scores.add_(bias);
    auto probs = torch::softmax(scores, -1);
    auto context = gemm::matmul(probs, value)
                       .reshape({cases, local_heads_, per_case, tq, d_kv_})
                       .permute({0, 2, 3, 1, 4})
                       .reshape({rows, tq, local_heads_ * d_kv_});
    return o->forward(context);
  }
  // T5 folds the 1/sqrt(d_kv) scaling into the initialisation of q.
  auto scores = gemm::matmul(query, key.transpose(-1, -2));
  // In place: matmul's backward needs its inputs, not its output, and this saves a [B,h,T,S] pass.
  if (bias.defined()) scores.add_(bias);
  auto probs =
      tp::sharded_softmax_dropout(scores, dropout_, train, rng, /*dim=*/1, ctx_.rank(), ctx_.size());
  auto context = gemm::matmul(probs, value).transpose(1, 2);
  context = context.reshape({context.size(0), context.size(1), local_heads_ * d_kv_});
  return o->forward(context);
}

T5FeedForwardImpl::T5FeedForwardImpl(const T5Config& config, tp::ParallelContext ctx)
    : ctx_(std::move(ctx)), kind_(config.feed_forward), dropout_(config.dropout_rate) {
  const int64_t d = config.d_model, ff = config.d_ff;
  if (kind_ == FeedForward::kRelu) {
    wi = register_module("wi", tp::ColumnParallelLinear(d, ff, ctx_));
  } else {
    wi_0 = register_module("wi_0", tp::ColumnParallelLinear(d, ff, ctx_));
    wi_1 = register_module("wi_1", tp::ColumnParallelLinear(d, ff, ctx_));
  }
  wo = register_module("wo", tp::RowParallelLinear(ff, d, ctx_));
}

torch::Tensor T5FeedForwardImpl::forward(const torch::Tensor& x, bool train, tp::DropoutRng& rng) {
  auto x_in = tp::copy_to_tp_region(x, ctx_.tp);
  torch::Tensor hidden;
  if (kind_ == FeedForward::kRelu) {
    hidden = wi->forward_in_region(x_in);
    hidden = tp::sharded_relu_dropout(hidden, dropout_, train, rng, hidden.dim() - 1, ctx_.rank(),
                                      ctx_.size());
  } else {
    // T5 v1.1's gated-GELU uses the tanh approximation ("gelu_new").
    hidden = torch::gelu(wi_0->forward_in_region(x_in), "tanh") * wi_1->forward_in_region(x_in);
    hidden = tp::sharded_dropout(hidden, dropout_, train, rng, hidden.dim() - 1, ctx_.rank(),
                                 ctx_.size());
  }
  return wo->forward(hidden);
}

T5BlockImpl::T5BlockImpl(const T5Config& config, bool is_decoder, tp::ParallelContext ctx)
    : dropout_(config.dropout_rate) {
  const double eps = config.layer_norm_epsilon;
  self_attn_norm = register_module("self_attn_norm", RmsNorm(config.d_model, eps));
  self_attn = register_module("self_attn", T5Attention(config, ctx));
  if (is_decoder) {
    cross_attn_norm = register_module("cross_attn_norm", RmsNorm(config.d_model, eps));
    cross_attn = register_module("cross_attn", T5Attention(config, ctx));
  }
  ffn_norm = register_module("ffn_norm", RmsNorm(config.d_model, eps));
  ffn = register_module("ffn", T5FeedForward(config, ctx));
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& self_bias,
                                   const torch::Tensor& memory, const torch::Tensor& cross_bias,
                                   bool train, tp::DropoutRng& rng, LayerCache* cache) {
  auto h = x + tp::replicated_dropout(self_attn->forward(self_attn_norm->forward(x), torch::Tensor(),
                                                     self_bias, train, rng,
                                                     cache ? &cache->self : nullptr),
                                  dropout_, train, rng);
  if (cross_attn) {
    h = h + tp::replicated_dropout(cross_attn->forward(cross_attn_norm->forward(h), memory, cross_bias,
                                                   train, rng, cache ? &cache->cross : nullptr),
                               dropout_, train, rng);
  }
  return h + tp::replicated_dropout(ffn->forward(ffn_norm->forward(h), train, rng), dropout_, train,
                                rng);
}

T5StackImpl::T5StackImpl(const T5Config& config, bool is_decoder, tp::ParallelContext ctx) {
  layers = register_module("layers", torch::nn::ModuleList());
  const int64_t n = is_decoder ? config.num_decoder_layers : config.num_encoder_layers;
  for (int64_t i = 0; i < n; ++i) layers->push_back(T5Block(config, is_decoder, ctx));
  relative_bias =
      register_module("relative_bias", RelativePositionBias(config, !is_decoder, ctx));
  final_norm = register_module("final_norm", RmsNorm(config.d_model, config.layer_norm_epsilon));
}

}  // namespace gensar::model
