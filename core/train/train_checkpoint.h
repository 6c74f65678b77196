// What a GenSAR training checkpoint holds (one step-N directory, written through
// distributed/'s CheckpointWriter; docs/training.md):
//   model-tpTT-dp000.pt    this TP rank's parameter shards (DP rank 0 writes; replicas are equal)
//   optim-tpTT-dp000.pt    AdamW state of those shards (torch archive)
//   rng-tpTT-dpDDD.pt      every rank's dropout RNG streams
//   state.json             step, consumed_samples, epoch, best metric, patience counter, mesh, batch
//   model.json             the T5 config
//   config.ini, prompts.txt  the resolved `train` options and the prompt templates (`files`)
//   tokenizer.model        SentencePiece model bytes (special tokens follow from identifiers)
//   identifiers.h5         a copy of the identifiers the run was trained with
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/t5_config.h"
#include "core/model/t5_model.h"
#include "core/train/sample_builder.h"
#include "distributed/checkpoint_io.h"
#include "distributed/process_mesh.h"

namespace torch::optim {
class Optimizer;
}

namespace gensar::train {

struct TrainState {
  int64_t step = 0;
  int64_t consumed_samples = 0;
  int64_t epoch = 0;
  double best_metric = -1;
  int bad_validations = 0;
  int tp_size = 1;
  int dp_size = 1;
  int64_t global_batch = 0;
};

nlohmann::json to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j);
nlohmann::json to_json(const model::T5Config& c);
model::T5Config t5_config_from_json(const nlohmann::json& j);

// Collective over the mesh's world (call between writer.begin() — done here — and writer.commit()).
void save_train_checkpoint(dist::CheckpointWriter& writer, const dist::ProcessMesh& mesh,
                           model::T5ModelImpl& model, torch::optim::Optimizer& optimizer,
                           const TrainState& state, const SampleBuilder& builder,
                           const std::map<std::string, std::string>& files);

// Loads weights, optimiser and RNG state of this rank from `dir` and returns the saved state.
TrainState load_train_checkpoint(const std::string& dir, const dist::ProcessMesh& mesh,
                                 model::T5ModelImpl& model, torch::optim::Optimizer& optimizer);

// Weights only, for inference: `tp_rank` of `tp_size` shards when tp_size equals the checkpoint's
// TP size; with tp_size 1 and a sharded checkpoint, the shards are concatenated into the full model.
void load_checkpoint_weights(const std::string& dir, model::T5ModelImpl& model, int tp_rank,
                             int tp_size);

}  // namespace gensar::train
