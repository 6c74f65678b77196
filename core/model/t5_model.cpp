#include "core/model/t5_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "core/common/check.h"
#include "core/common/seed.h"
#include "core/tensor_parallel/cross_entropy.h"

namespace gensar::model {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Hugging Face T5's initialisation (std per matrix); norms start at 1. The untied LM head uses
// d_model^-0.5 rather than HF's 1.0 so that initial logits have unit scale, as the tied head's
// d_model^-0.5 output scaling gives.
double init_std(const std::string& name, const T5Config& c) {
  const double f = c.initializer_factor, d = static_cast<double>(c.d_model);
  if (name == "shared.weight") return f;
  if (name == "lm_head.weight") return f / std::sqrt(d);
  if (ends_with(name, ".q.weight")) return f / std::sqrt(d * c.d_kv);
  if (ends_with(name, ".k.weight") || ends_with(name, ".v.weight")) return f / std::sqrt(d);
  if (ends_with(name, ".o.weight")) return f / std::sqrt(static_cast<double>(c.inner_dim()));
  if (ends_with(name, ".wi.weight") || ends_with(name, ".wi_0.weight") ||
      ends_with(name, ".wi_1.weight"))
    return f / std::sqrt(d);
  if (ends_with(name, ".wo.weight")) return f / std::sqrt(static_cast<double>(c.d_ff));
  if (ends_with(name, "relative_bias.weight")) return f / std::sqrt(d);
  return 0.0;  // norms
}

}  // namespace

std::map<std::string, int> partition_dims_for(const T5Config& config) {
  // Which parameters exist and how their layers split them follows the structure (layer counts,
  // feed-forward kind, tied head), not the sizes: a model with every size 1 answers the same
  // without allocating and initialising a full-size copy.
  T5Config structure = config;
  structure.vocab_size = structure.d_model = structure.d_kv = structure.num_heads = structure.d_ff = 1;
  structure.relative_attention_num_buckets = 1;
  return T5ModelImpl(structure).partition_dims();
}

torch::Tensor padding_bias(const torch::Tensor& attention_mask) {
  auto keep = attention_mask.to(torch::kFloat);
  return ((1.0 - keep) * kMaskBias).unsqueeze(1).unsqueeze(1);
}

T5ModelImpl::T5ModelImpl(const T5Config& config, tp::CommunicatorPtr tp, uint64_t init_seed)
    : config_(config), ctx_{std::move(tp)} {
  config_.validate(ctx_.size());
  shared = register_module("shared", tp::VocabParallelEmbedding(config_.vocab_size, config_.d_model, ctx_));
  encoder = register_module("encoder", T5Stack(config_, /*is_decoder=*/false, ctx_));
  decoder = register_module("decoder", T5Stack(config_, /*is_decoder=*/true, ctx_));
  if (!config_.tie_word_embeddings) {
    lm_head = register_module("lm_head", tp::ColumnParallelLinear(config_.d_model, config_.vocab_size, ctx_));
  }
  // Every layer has declared how its parameters are split; gather that once, by full name.
  partition_dims_ = tp::collect_partition_dims(*this);
  reset_parameters(init_seed);
}

void T5ModelImpl::reset_parameters(uint64_t seed) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& param = item.value();
    const double std = init_std(name, config_);
    if (std == 0.0) {
      param.fill_(1.0);
      continue;
    }
    const int dim = partition_dim(name);
    std::vector<int64_t> full(param.sizes().begin(), param.sizes().end());
    if (dim >= 0) full[dim] *= ctx_.size();
    auto gen = at::detail::createCPUGenerator(
        seed::derive(seed, seed::Purpose::kModelInit, {seed::name_hash(name)}));
    auto values = torch::randn(full, gen, torch::kFloat) * std;
    if (dim >= 0) values = values.narrow(dim, ctx_.rank() * param.size(dim), param.size(dim));
    param.copy_(values);
  }
}

int T5ModelImpl::partition_dim(const std::string& name) const {
  auto it = partition_dims_.find(name);
  GENSAR_CHECK(it != partition_dims_.end(), "T5 model ({} encoder / {} decoder layers, {}) has no "
               "parameter '{}'", config_.num_encoder_layers, config_.num_decoder_layers,
               config_.tie_word_embeddings ? "tied" : "untied", name);
  return it->second;
}

std::map<std::string, torch::Tensor> T5ModelImpl::full_state_dict() {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : named_parameters()) {
    const int dim = partition_dim(item.key());
    torch::Tensor value = item.value().detach();
    if (dim >= 0 && ctx_.size() > 1) value = tp::all_gather_along(value, *ctx_.tp, dim);
    out[item.key()] = value.clone();
  }
  return out;
}

void T5ModelImpl::load_full_state_dict(const std::map<std::string, torch::Tensor>& full) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    auto it = full.find(item.key());
    GENSAR_CHECK(it != full.end(), "state dict has no parameter '{}'", item.key());
    torch::Tensor value = it->second.to(torch::kFloat);
    const int dim = partition_dim(item.key());
    if (dim >= 0) {
      const int64_t local = item.value().size(dim);
      GENSAR_CHECK(value.size(dim) == local * ctx_.size(),
                   "parameter '{}' has {} rows along dim {}, model wants {} x {} TP ranks",
                   item.key(), value.size(dim), dim, local, ctx_.size());
      value = value.narrow(dim, ctx_.rank() * local, local);
    }
    GENSAR_CHECK(value.sizes() == item.value().sizes(), "parameter '{}' has shape {}, model has {}",
                 item.key(), c10::str(value.sizes()), c10::str(item.value().sizes()));
    item.value().copy_(value);
  }
}

torch::Tensor T5ModelImpl::encode(const torch::Tensor& input_ids,
                                  const torch::Tensor& attention_mask) {
  const bool train = is_training();
  const int64_t s = input_ids.size(1);
  auto positions = torch::arange(s, torch::kLong);
  auto bias = encoder->relative_bias->forward(positions, s) + padding_bias(attention_mask);
  auto hidden = tp::replicated_dropout(shared->forward(input_ids), config_.dropout_rate, train, rng_);
  for (size_t i = 0; i < encoder->layers->size(); ++i) {
    hidden = encoder->block(i)->forward(hidden, bias, torch::Tensor(), torch::Tensor(), train, rng_);
  }
  return tp::replicated_dropout(encoder->final_norm->forward(hidden), config_.dropout_rate, train, rng_);
}

torch::Tensor T5ModelImpl::run_decoder(torch::Tensor hidden, const torch::Tensor& self_bias,
                                       const torch::Tensor& memory, const torch::Tensor& cross_bias,
                                       bool train, std::vector<LayerCache>* caches) {
  hidden = tp::replicated_dropout(hidden, config_.dropout_rate, train, rng_);
  for (size_t i = 0; i < decoder->layers->size(); ++i) {
    hidden = decoder->block(i)->forward(hidden, self_bias, memory, cross_bias, train, rng_,
                                        caches ? &(*caches)[i] : nullptr);
  }
  return tp::replicated_dropout(decoder->final_norm->forward(hidden), config_.dropout_rate, train, rng_);
}

torch::Tensor T5ModelImpl::output_input(const torch::Tensor& decoder_hidden) const {
  // T5 rescales the decoder output by d_model^-0.5 when the output layer is the input embedding.
  if (!config_.tie_word_embeddings) return decoder_hidden;
  return decoder_hidden * (1.0 / std::sqrt(static_cast<double>(config_.d_model)));
}

torch::Tensor T5ModelImpl::output_logits(const torch::Tensor& decoder_hidden) {
  if (config_.tie_word_embeddings) return shared->logits(output_input(decoder_hidden));
  return lm_head->forward(decoder_hidden);
}

torch::Tensor T5ModelImpl::decode(const torch::Tensor& encoder_out,
                                  const torch::Tensor& attention_mask,
                                  const torch::Tensor& decoder_input_ids) {
  const int64_t t = decoder_input_ids.size(1);
  auto positions = torch::arange(t, torch::kLong);
  auto causal = torch::ones({t, t}, torch::kBool).triu(1);
  auto self_bias = decoder->relative_bias->forward(positions, t) +
                   torch::zeros({t, t}).masked_fill(causal, kMaskBias);
  auto hidden = run_decoder(shared->forward(decoder_input_ids), self_bias, encoder_out,
                            padding_bias(attention_mask), is_training(), nullptr);
  return output_logits(hidden);
}

T5Output T5ModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                              const torch::Tensor& decoder_input_ids,
                              const torch::Tensor& labels) {
  GENSAR_CHECK(input_ids.dim() == 2 && attention_mask.sizes() == input_ids.sizes(),
               "input_ids {} and attention_mask {} must both be [B, S]",
               c10::str(input_ids.sizes()), c10::str(attention_mask.sizes()));
  GENSAR_CHECK(decoder_input_ids.dim() == 2 && decoder_input_ids.size(0) == input_ids.size(0),
               "decoder_input_ids {} must be [B, T] with B = {}", c10::str(decoder_input_ids.sizes()),
               input_ids.size(0));
  T5Output out;
  auto encoded = encode(input_ids, attention_mask);
  out.logits = decode(encoded, attention_mask, decoder_input_ids);
  if (!labels.defined()) return out;
  GENSAR_CHECK(labels.sizes() == decoder_input_ids.sizes(), "labels {} must match decoder input {}",
               c10::str(labels.sizes()), c10::str(decoder_input_ids.sizes()));
  const int64_t b = labels.size(0), t = labels.size(1);
  auto token_loss = tp::vocab_parallel_cross_entropy(out.logits.reshape({b * t, -1}),
                                                 labels.reshape({b * t}), ctx_)
                        .view({b, t});
  out.token_count = (labels != -100).sum(1);
  auto counts = out.token_count.to(torch::kFloat);
  out.token_loss = token_loss;
  out.example_loss = token_loss.sum(1) / counts.clamp_min(1.0);
  out.loss = token_loss.sum() / counts.sum().clamp_min(1.0);
  return out;
}

torch::Tensor T5ModelImpl::gather_logits(const torch::Tensor& local_logits) {
  return tp::gather_from_tp_region(local_logits, ctx_.tp, -1);
}

std::unique_ptr<T5DecodeState> T5ModelImpl::start_decoding(const torch::Tensor& input_ids,
                                                           const torch::Tensor& attention_mask) {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  auto state = std::make_unique<T5DecodeState>();
  state->encoder_out = encode(input_ids, attention_mask);
  state->cross_bias = padding_bias(attention_mask);
  state->layers.resize(decoder->layers->size());
  train(was_training);
  return state;
}

torch::Tensor T5ModelImpl::decode_step_hidden(T5DecodeState& state, const torch::Tensor& last_tokens) {
  GENSAR_CHECK(last_tokens.dim() == 1 &&
                   last_tokens.size(0) == state.encoder_out.size(0) * state.rows_per_case,
               "decode step got tokens {} for {} rows", c10::str(last_tokens.sizes()),
               state.encoder_out.size(0) * state.rows_per_case);
  // The new token at position `step` attends to positions 0..step: no causal mask is needed.
  auto position = torch::full({1}, state.step, torch::kLong);
  auto self_bias = decoder->relative_bias->forward(position, state.step + 1);
  auto hidden = run_decoder(shared->forward(last_tokens.unsqueeze(1)), self_bias, state.encoder_out,
                            state.cross_bias, /*train=*/false, &state.layers);
  state.step += 1;
  return hidden;
}

torch::Tensor T5ModelImpl::decode_step(T5DecodeState& state, const torch::Tensor& last_tokens) {
  torch::NoGradGuard no_grad;
  auto logits = gather_logits(output_logits(decode_step_hidden(state, last_tokens))).squeeze(1);
  return torch::log_softmax(logits, -1);
}

torch::Tensor T5ModelImpl::decode_step_columns(T5DecodeState& state, const torch::Tensor& last_tokens,
                                               const torch::Tensor& columns) {
  torch::NoGradGuard no_grad;
  GENSAR_CHECK(columns.dim() == 1 && columns.scalar_type() == torch::kLong,
               "decode_step_columns: columns must be a 1-d int64 tensor, got {}", c10::str(columns.sizes()));
  auto hidden = decode_step_hidden(state, last_tokens).squeeze(1);
  // Under TP every rank holds a vocabulary slice: gather all logits, then pick (a collective).
  if (ctx_.size() > 1) return gather_logits(output_logits(hidden)).index_select(1, columns);
  const torch::Tensor& weight = config_.tie_word_embeddings ? shared->weight : lm_head->weight;
  return torch::nn::functional::linear(output_input(hidden), weight.index_select(0, columns));
}

void T5ModelImpl::reorder(T5DecodeState& state, const torch::Tensor& index) {
  auto pick = [&](torch::Tensor& t, const torch::Tensor& rows) {
    if (t.defined()) t = t.index_select(0, rows);
  };
  const int64_t cases = state.encoder_out.size(0);
  const int64_t rows = cases * state.rows_per_case;
  const int64_t new_rows = index.size(0);
  // Grouped: every new row of case c comes from a row of case c, and each case gets as many rows.
  bool grouped = new_rows % cases == 0;
  if (grouped) {
    const int64_t per_case = new_rows / cases;
    auto idx = index.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    for (int64_t i = 0; i < new_rows && grouped; ++i)
      grouped = p[i] >= 0 && p[i] < rows && p[i] / state.rows_per_case == i / per_case;
    if (grouped) {
      for (auto& layer : state.layers) {
        pick(layer.self.k, index);
        pick(layer.self.v, index);
      }
      state.rows_per_case = per_case;
      return;
    }
  }
  // General: expand the per-case tensors to rows, then select.
  auto row_index = state.rows_per_case == 1
                       ? index
                       : torch::div(index, state.rows_per_case, "floor");
  pick(state.encoder_out, row_index);
  pick(state.cross_bias, row_index);
  for (auto& layer : state.layers) {
    pick(layer.self.k, index);
    pick(layer.self.v, index);
    pick(layer.cross.k, row_index);
    pick(layer.cross.v, row_index);
  }
  state.rows_per_case = 1;
}

}  // namespace gensar::model
