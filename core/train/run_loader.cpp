#include "core/train/run_loader.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/check.h"
#include "core/common/ini.h"
#include "core/common/read_file.h"
#include "core/model/t5_model.h"
#include "core/model/t5_scorer.h"
#include "core/train/run_setup.h"
#include "core/train/run_layout.h"
#include "core/train/train_checkpoint.h"
#include "distributed/checkpoint_io.h"

namespace fs = std::filesystem;

namespace gensar::train {
namespace {

// The saved INI's keys with sections flattened (the file holds the train verb's options).
std::map<std::string, std::string> flat_ini(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::map<std::string, std::string> out;
  for (const auto& [section, entries] : parse_ini(in, source))
    for (const auto& [key, entry] : entries) out[key] = entry.value;
  return out;
}

std::string get_or(const std::map<std::string, std::string>& m, const std::string& k,
                   const std::string& fallback) {
  auto it = m.find(k);
  return it == m.end() || it->second.empty() ? fallback : it->second;
}

}  // namespace

std::string resolve_checkpoint_dir(const std::string& path, const std::string& which) {
  GENSAR_INPUT_CHECK(fs::exists(path), "{}: no such run or checkpoint directory", path);
  if (fs::exists(fs::path(path) / run_layout::kStateFile)) return path;
  std::string root = path;
  if (fs::exists(run_layout::checkpoints_dir(path))) root = run_layout::checkpoints_dir(path);
  std::optional<dist::CheckpointRef> ref;
  if (which == "best") ref = dist::find_best_checkpoint(root);
  if (!ref) ref = dist::find_latest_checkpoint(root);
  GENSAR_INPUT_CHECK(ref.has_value(), "{}: no complete checkpoint (no step-N with state.json)", path);
  return ref->path;
}

LoadedRun load_run(const std::string& path, const RunLoadOptions& options) {
  LoadedRun run;
  run.checkpoint_dir = resolve_checkpoint_dir(path, options.which);
  const fs::path dir(run.checkpoint_dir);
  TrainState state = train_state_from_json(dist::read_json_file((dir / run_layout::kStateFile).string()));
  run.step = state.step;
  run.config_ini = read_file((dir / run_layout::kConfigFile).string());
  run.config = flat_ini(run.config_ini, (dir / run_layout::kConfigFile).string());

  RunInputs in;
  in.dataset_dir = options.dataset_dir.empty() ? get_or(run.config, "dataset", "") : options.dataset_dir;
  GENSAR_INPUT_CHECK(!in.dataset_dir.empty(), "{}: config.ini names no dataset; pass the dataset dir",
                     run.checkpoint_dir);
  in.identifiers_path = (dir / run_layout::kIdentifiersFile).string();
  in.spm_model_bytes = read_file((dir / run_layout::kTokenizerFile).string());
  in.prompts_path = (dir / run_layout::kPromptsFile).string();
  if (!fs::exists(in.prompts_path)) in.prompts_path = get_or(run.config, "prompts", "");
  if (in.prompts_path.empty() || !fs::exists(in.prompts_path))
    in.prompts_path = default_prompts_path();
  in.samples.history_rec = std::stoi(get_or(run.config, "history-rec", "5"));
  in.samples.history_search = std::stoi(get_or(run.config, "history-search", "5"));
  in.samples.max_input_len = std::stoi(get_or(run.config, "max-input-len", "256"));
  in.samples.max_text_len = std::stoi(get_or(run.config, "max-text-len", "64"));
  in.samples.max_query_len = std::stoi(get_or(run.config, "max-query-len", "32"));
  const std::string neutral = get_or(run.config, "neutral-prompt", "false");
  in.samples.neutral_prompt = neutral == "true" || neutral == "1";
  in.samples.pseudo_query = get_or(run.config, "pseudo-query", "own-queries");
  in.samples.id_softmax = parse_id_softmax(get_or(run.config, "id-softmax", "vocabulary"));
  RunPieces pieces = assemble_run(in);
  run.dataset = pieces.dataset;
  run.identifiers = pieces.identifiers;
  run.tokenizer = pieces.tokenizer;
  run.prompts = pieces.prompts;
  run.builder = pieces.builder;

  model::T5Config config = t5_config_from_json(dist::read_json_file((dir / run_layout::kModelConfigFile).string()));
  const int tp_size = options.tp ? options.tp->size() : 1;
  const int tp_rank = options.tp ? options.tp->rank() : 0;
  auto holder = model::T5Model(config, tp_size > 1 ? options.tp : nullptr, 0);
  load_checkpoint_weights(run.checkpoint_dir, *holder, tp_rank, tp_size);
  holder->eval();
  run.model = holder.ptr();
  run.scorer = std::make_shared<model::T5Scorer>(holder);
  return run;
}

}  // namespace gensar::train
