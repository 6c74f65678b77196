// Hugging Face T5 checkpoints (safetensors) <-> our parameter names.
//
//   shared.weight                      <-> shared.weight (or encoder.embed_tokens.weight)
//   lm_head.weight                     <-> lm_head.weight (untied models)
//   E.relative_bias.weight             <-> E.block.0.layer.0.SelfAttention.relative_attention_bias.weight
//   E.final_norm.weight                <-> E.final_layer_norm.weight
//   E.layers.i.self_attn.X.weight      <-> E.block.i.layer.0.SelfAttention.X.weight     (X = q,k,v,o)
//   E.layers.i.self_attn_norm.weight   <-> E.block.i.layer.0.layer_norm.weight
//   decoder.layers.i.cross_attn.X      <-> decoder.block.i.layer.1.EncDecAttention.X
//   decoder.layers.i.cross_attn_norm   <-> decoder.block.i.layer.1.layer_norm
//   E.layers.i.ffn.W.weight            <-> E.block.i.layer.L.DenseReluDense.W.weight  (W = wi, wi_0, wi_1, wo;
//   E.layers.i.ffn_norm.weight         <-> E.block.i.layer.L.layer_norm.weight         L = 1 encoder, 2 decoder)
// where E is encoder or decoder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/t5_model.h"

namespace gensar::model {

// Empty string when the name has no counterpart.
std::string our_name_to_hf(const std::string& ours);
std::string hf_name_to_ours(const std::string& hf);

struct HfImportSummary {
  int64_t tensors_loaded = 0;
  int64_t pretrained_vocab = 0;  // rows of the checkpoint's embedding
  int64_t appended_rows = 0;     // rows of ours beyond it (new tokens)
  std::vector<std::string> unused;  // checkpoint tensors with no counterpart
};

// Loads every parameter from a HF T5 safetensors file into `model` (each TP rank keeps its shard).
// The model may have a larger vocabulary than the checkpoint (tokens appended for item codes and
// task markers): the extra rows of the embedding (and untied LM head) are drawn from a normal
// distribution with the mean row and the overall std of the pretrained rows, seeded by `seed`, so
// new tokens start at the scale of the pretrained ones. Shapes must otherwise match the config.
HfImportSummary load_hf_t5(T5ModelImpl& model, const std::string& path, uint64_t seed = 0);

// Writes the model under HF names (full tensors; a collective over TP ranks, TP rank 0 writes).
void save_hf_t5(T5ModelImpl& model, const std::string& path);

}  // namespace gensar::model
