// The names of a training run's files, in one place (docs/training.md, "Run directory"):
//   RUN/config.ini           the resolved `train` options
//   RUN/metrics.jsonl        one line per step and per validation
//   RUN/checkpoints/step-N/  one checkpoint (core/train/train_checkpoint.h lists its files)
//   RUN/checkpoints/latest, RUN/checkpoints/best   markers (distributed/checkpoint_io.h)
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "distributed/checkpoint_io.h"

namespace gensar::train::run_layout {

// In the run directory.
inline constexpr const char* kCheckpointsDir = "checkpoints";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kConfigFile = "config.ini";
// In a checkpoint directory, beside the tensor shards.
inline constexpr const char* kStateFile = "state.json";
inline constexpr const char* kModelConfigFile = "model.json";
inline constexpr const char* kPromptsFile = "prompts.txt";
inline constexpr const char* kTokenizerFile = "tokenizer.model";
inline constexpr const char* kIdentifiersFile = "identifiers.h5";

inline std::string in_dir(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}
inline std::string checkpoints_dir(const std::string& run_dir) {
  return in_dir(run_dir, kCheckpointsDir);
}
inline std::string metrics_path(const std::string& run_dir) { return in_dir(run_dir, kMetricsFile); }

// The one decision of whether a run resumes, and from where: the newest complete checkpoint
// under `run_dir` when `resume` is set, else none (a fresh start).
inline std::optional<dist::CheckpointRef> checkpoint_to_resume(const std::string& run_dir,
                                                               bool resume) {
  if (!resume) return std::nullopt;
  return dist::find_latest_checkpoint(checkpoints_dir(run_dir));
}

}  // namespace gensar::train::run_layout
