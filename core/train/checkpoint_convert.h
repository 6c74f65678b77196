// Converting a training checkpoint (step-N directory, docs/training.md) between tensor-parallel
// layouts, and to/from one self-contained file for inference (docs/distributed.md,
// "Converting checkpoints"). Works on files only: no communicator; how each parameter is split
// comes from the model that the checkpoint's model.json describes (model::partition_dims_for).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "distributed/checkpoint_io.h"

namespace gensar::train {

// The full (unsharded) parameters of a checkpoint directory: every model-tpTT-dp000.pt of its TP
// size read and the split parameters concatenated along their partition dim.
dist::TensorMap load_full_parameters(const std::string& checkpoint_dir);

// Splits full parameters into `tp_size` shards along their partition dims
// (model::partition_dims_for; replicated ones copied to every shard). The vocabulary-sharded
// matrices must already have a row count divisible by tp_size.
std::vector<dist::TensorMap> split_parameters(const dist::TensorMap& full,
                                              const std::map<std::string, int>& partition_dims,
                                              int tp_size);

// Appends zero rows to the vocabulary matrices (shared.weight, lm_head.weight) so their row count
// is a multiple of `multiple`; returns the new vocabulary size.
int64_t pad_vocabulary(dist::TensorMap& full, int64_t multiple);

// Writes `out_dir` (atomically: out_dir.tmp, then rename; out_dir must not exist) as a checkpoint
// with `tp_size` model shards, holding the same parameters as `in_path`, which is a checkpoint
// directory or a single-file model. state.json records the new tp_size and "optimizer": "dropped";
// model.json the (possibly padded) vocabulary; every other file is copied. The optimiser and RNG
// states are not carried: the result is for inference or fine-tuning with a fresh optimiser.
// With `average_with` (more checkpoints of the same run: same model.json, tokenizer and
// identifiers), the parameters written are the uniform mean of all of them (checkpoint averaging,
// docs/training.md); state.json then lists them under "averaged_from" and the optimiser is dropped.
void convert_checkpoint(const std::string& in_path, const std::string& out_dir, int tp_size,
                        const std::vector<std::string>& average_with = {});

// One file (torch archive via dist::save_tensors) holding the full parameters under their names and
// each non-shard file of the checkpoint (model.json, state.json, config.ini, prompts.txt,
// tokenizer.model, identifiers.h5) as a uint8 tensor under "file.<name>". Written atomically.
void write_single_file_model(const std::string& checkpoint_dir, const std::string& path);

struct SingleFileModel {
  dist::TensorMap parameters;                 // full, unsharded
  std::map<std::string, std::string> files;  // file name -> bytes
};
SingleFileModel read_single_file_model(const std::string& path);

}  // namespace gensar::train
