// The GenSAR training loop, cut as Marian cuts its trainer: this short loop; LrSchedule (the
// scheduler); a ValidationHook; TrainingLog (metrics.jsonl and progress); TrainState, what a
// checkpoint restores besides tensors (train_checkpoint.h); run_layout.h (file names, and the one
// decision of whether to resume). Data parallel through distributed/'s GradientReducer over
// the mesh's DP group, tensor parallel inside the model; seeded and exactly resumable:
//   - the sample at global stream position p is EpochSamples(seed, p / N)[SampleOrder(p)], so the
//     only data state is consumed_samples;
//   - the optimiser state, the step (which fixes the LR) and every dropout RNG stream are saved;
//   - so a run stopped at step k and resumed replays the same per-step losses bit for bit on CPU.
// Loss: token-level cross-entropy summed over the whole global batch (all micro-batches, all DP
// ranks) divided by its label-token count, so DP x accumulation equals one big batch.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/t5_model.h"
#include "core/train/batch.h"
#include "core/train/lr_schedule.h"
#include "core/train/sample_builder.h"
#include "core/train/train_checkpoint.h"
#include "core/train/training_log.h"
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
  double label_smoothing = 0.0;    // share of each target token spread over its normaliser
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
  int64_t check_replicas_every = 0;  // steps; 0 = never (core/train/replica_check.h)
  // Files saved in every checkpoint: "config.ini" (the resolved options), "prompts.txt".
  std::map<std::string, std::string> checkpoint_files;
  bool resume = false;
  bool progress = true;            // progress bar / log lines
};

enum class TrainStatus { kFinished, kEarlyStopped, kStopRequested };

class Trainer {
 public:
  // `validate` is called at validation steps (valid_every); it may be empty only when
  // valid_every < 0.
  Trainer(TrainerOptions options, std::shared_ptr<const SampleBuilder> builder, model::T5Model model,
          std::shared_ptr<dist::ProcessMesh> mesh, ValidationHook validate = nullptr);
  ~Trainer();

  // Loads the newest checkpoint under options.out when options.resume is set and one exists
  // (run_layout::checkpoint_to_resume). Returns whether it resumed.
  bool maybe_resume();
  TrainStatus run();

  // Stop after this many steps of THIS call to run() as if a stop signal had arrived (tests).
  void stop_after_steps(int64_t steps) { stop_after_ = steps; }
  const std::vector<StepRecord>& history() const { return history_; }
  int64_t step() const { return state_.step; }
  int64_t consumed_samples() const { return state_.consumed_samples; }
  int64_t total_steps() const { return total_steps_; }
  int64_t global_batch_size() const { return global_batch_; }
  double best_metric() const { return state_.best_metric; }
  void save_checkpoint(std::optional<double> metric = std::nullopt);

 private:
  // One optimiser step over the next global batch; advances state_.
  StepRecord train_step();
  // Teacher-forced forward with per-example losses under the builder's --id-softmax.
  model::T5Output forward_with_loss(const Batch& batch);
  bool validation_due() const;
  // Validates, logs, checkpoints; returns a status when the run must end here (a stop request
  // during validation, or patience exhausted).
  std::optional<TrainStatus> validate_and_checkpoint(TrainingLog& log);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  TrainerOptions options_;
  std::shared_ptr<const SampleBuilder> builder_;
  model::T5Model model_;
  std::shared_ptr<dist::ProcessMesh> mesh_;
  ValidationHook validate_;
  // Everything a checkpoint restores besides tensors: step, samples consumed, best score,
  // patience counter, and the mesh and global batch it was trained with.
  TrainState state_;
  int64_t total_steps_ = 0, global_batch_ = 0, epoch_size_ = 0;
  std::array<int64_t, 2> id_levels_ = {0, 0};  // identifier tokens: collaborative, semantic
  int64_t stop_after_ = -1;
  std::vector<StepRecord> history_;
};

}  // namespace gensar::train
