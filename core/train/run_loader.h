// Loading a trained run for evaluation and inference: a checkpoint directory (step-N) or a run
// directory (then its `best` or `latest` checkpoint) -> the model as a Seq2SeqScorer, the tokenizer,
// the identifiers, the resolved training config and a SampleBuilder that builds inputs exactly as
// training did. Everything comes from the checkpoint itself (tokenizer bytes, identifiers copy,
// config INI), so a run stays usable after its inputs move; only the dataset is opened by path
// (the one recorded in the config unless `dataset_dir` overrides it).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/decoding/seq2seq.h"
#include "core/rqvae/identifiers.h"
#include "core/train/prompts.h"
#include "core/train/sample_builder.h"
#include "core/train/tokenizer.h"
#include "data_pipeline/dataset.h"
#include "distributed/communicator.h"

namespace gensar::model {
class T5ModelImpl;
}

namespace gensar::train {

struct RunLoadOptions {
  std::string which = "best";    // for a run directory: "best" (falls back to latest) or "latest"
  std::string dataset_dir;       // override the dataset path recorded in the config
  // TP group the model is sharded over (nullptr = one process). Must match the checkpoint's TP
  // size, or be 1 (then the shards are gathered into the full model).
  std::shared_ptr<dist::Communicator> tp;
};

struct LoadedRun {
  std::string checkpoint_dir;                  // the step-N directory actually loaded
  int64_t step = 0;
  std::map<std::string, std::string> config;   // resolved `train` options (key -> value text)
  std::string config_ini;                      // the same, as saved
  std::shared_ptr<model::T5ModelImpl> model;   // eval mode
  std::shared_ptr<decoding::Seq2SeqScorer> scorer;  // KV-cached scorer over `model`
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<rqvae::ItemIdentifiers> identifiers;
  std::shared_ptr<PromptSet> prompts;
  std::shared_ptr<data::Dataset> dataset;
  std::shared_ptr<SampleBuilder> builder;
};

// `path`: a step-N checkpoint directory or a run directory. Throws InputError when nothing
// loadable is there.
LoadedRun load_run(const std::string& path, const RunLoadOptions& options = {});

// Resolves a run directory or checkpoint directory to the checkpoint directory load_run would use.
std::string resolve_checkpoint_dir(const std::string& path, const std::string& which = "best");

}  // namespace gensar::train
