// What the training loop reports, and where: RUN/metrics.jsonl (rank 0; one line per step and per
// validation, read by `gensar report`), a progress bar on a terminal, or plain log lines every
// log_every steps otherwise. The loop hands it records; it decides nothing about training.
#pragma once

#include <cstdint>
#include <fstream>
#include <chrono>
#include <map>
#include <string>

#include "core/train/validation_hook.h"

namespace gensar::train {

struct StepRecord {
  int64_t step = 0;                // 1-based: the step just finished
  int64_t consumed_samples = 0;
  double loss = 0;                 // global token-mean cross-entropy of the step
  std::map<std::string, double> task_loss;  // per task: mean example loss
  // rec and search: mean loss at each identifier level (first code first), summed over examples
  std::map<std::string, std::vector<double>> id_level_loss;
  double lr = 0;
  double grad_norm = 0;
  double samples_per_s = 0;
};

struct TrainingLogOptions {
  std::string metrics_path;  // metrics.jsonl, appended to
  bool rank0 = true;         // only rank 0 writes
  bool progress = true;      // progress bar (terminal) or log lines
  int64_t log_every = 20;
  int64_t total_steps = 0;
  int64_t global_batch = 0;
  int64_t epoch_size = 1;
};

class TrainingLog {
 public:
  explicit TrainingLog(TrainingLogOptions options);
  ~TrainingLog();

  void step(const StepRecord& rec);
  // Ends the progress bar's line so the validation's own log lines start on a fresh one.
  void before_validation();
  void validation(int64_t step, int64_t consumed_samples, const ValidationResult& vr, double best,
                  bool improved);

 private:
  TrainingLogOptions o_;
  bool tty_ = false;
  std::ofstream metrics_;
  std::chrono::steady_clock::time_point window_start_;
  int64_t window_samples_ = 0;
};

}  // namespace gensar::train
