// The GenSAR training loop (Marian-style pieces: this loop, LrSchedule, a ValidationHook, the
// checkpoint state in train_checkpoint.h). Data parallel through distributed/'s GradientReducer over
// the mesh's DP group, tensor parallel inside the model; seeded and exactly resumable:
//   - the sample at global stream position p is EpochSamples(seed, p / N)[SampleOrder(p)], so the
//     only data state is consumed_samples;
//   - the optimiser state, the step (which fixes the LR) and every dropout RNG stream are saved;
//   - so a run stopped at step k and resumed replays the same per-step losses bit for bit on CPU.
// Loss: token-level cross-entropy summed over the whole global batch (all micro-batches, all DP
// ranks) divided by its label-token count, so DP x accumulation equals one big batch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/t5_model.h"
#include "core/train/lr_schedule.h"
#include "core/train/sample_builder.h"
#include "core/train/validation_hook.h"
#include "distributed/process_mesh.h"

namespace gensar::train {

struct TrainerOptions {
  std::string out;                 // run directory: checkpoints/, metrics.jsonl, config.ini
  int64_t epochs = 1;
  int64_t max_steps = 0;           // > 0: stop after this many optimiser steps (and size the LR schedule)
  int64_t batch_size = 64;         // micro-batch per DP rank
  int64_t grad_accum = 1;          // micro-batches per optimiser step
  double lr = 1e-3;
  double warmup_ratio = 0.01;
  double weight_decay = 1e-7;      // AdamW; not applied to norm weights
  double clip = 1.0;               // global gradient-norm clip; <= 0 disables
  uint64_t seed = 2024;
  TaskMixOptions mix;              // mix.seed is set from `seed`
  // Global batches sorted by input length together (core/train/sample_stream.h); 0 or 1 = off.
  int64_t bucket_window = 50;
  int64_t valid_every = 0;         // steps; 0 = once per epoch; < 0 = never
  int patience = 0;                // validations without improvement before stopping; 0 = off
  int keep_last = 3;
  int64_t save_every = 0;          // steps; 0 = at validations and at the end
  int64_t skip_nonfinite = 0;      // non-finite steps skipped before the run stops (nonfinite_guard.h)
  int64_t log_every = 20;          // steps between plain log lines (non-terminal)
  double bucket_cap_mb = 25.0;
  // Files saved in every checkpoint: "config.ini" (the resolved options), "prompts.txt".
  std::map<std::string, std::string> checkpoint_files;
  bool resume = false;
  bool progress = true;            // progress bar / log lines
};

struct StepRecord {
  int64_t step = 0;                // 1-based: the step just finished
  int64_t consumed_samples = 0;
  double loss = 0;                 // global token-mean cross-entropy of the step
  std::map<std::string, double> task_loss;  // per task: mean example loss
  double lr = 0;
  double grad_norm = 0;
  double samples_per_s = 0;
};

enum class TrainStatus { kFinished, kEarlyStopped, kStopRequested };

class Trainer {
 public:
  // `validate` is called at validation steps (valid_every); it may be empty only when
  // valid_every < 0.
  Trainer(TrainerOptions options, std::shared_ptr<const SampleBuilder> builder, model::T5Model model,
          std::shared_ptr<dist::ProcessMesh> mesh, ValidationHook validate = nullptr);
  ~Trainer();

  // Loads the newest checkpoint under options.out when options.resume is set and one exists.
  // Returns whether it resumed.
  bool maybe_resume();
  TrainStatus run();

  // Stop after this many steps of THIS call to run() as if a stop signal had arrived (tests).
  void stop_after_steps(int64_t steps) { stop_after_ = steps; }
  const std::vector<StepRecord>& history() const { return history_; }
  int64_t step() const { return step_; }
  int64_t consumed_samples() const { return consumed_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t global_batch_size() const { return global_batch_; }
  double best_metric() const { return best_metric_; }
  void save_checkpoint(std::optional<double> metric = std::nullopt);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TrainerOptions options_;
  std::shared_ptr<const SampleBuilder> builder_;
  model::T5Model model_;
  std::shared_ptr<dist::ProcessMesh> mesh_;
  ValidationHook validate_;
  int64_t step_ = 0, consumed_ = 0, total_steps_ = 0, global_batch_ = 0, epoch_size_ = 0;
  double best_metric_ = -1;
  int bad_validations_ = 0;
  int64_t stop_after_ = -1;
  std::vector<StepRecord> history_;
};

}  // namespace gensar::train
