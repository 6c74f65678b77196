// What the training loop needs from a validation, and nothing of how it is done: the trainer calls
// the hook at its validation steps, selects the best checkpoint by `score` and stops early on it.
// core/eval/validation.h makes the hook GenSAR uses (the evaluator on the validation split), which
// keeps this library free of the evaluator.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace gensar::train {

struct ValidationResult {
  std::map<std::string, double> metrics;  // "rec.hr@1", "search.ndcg@5", ..., "<task>.count"
  double score = 0;                       // model-selection score; higher is better
  double score_stderr = 0;                // standard error of `score` over the cases
  double seconds = 0;
  bool stopped = false;  // a stop request cut it short (on every rank): metrics are partial
};

// Collective over the ranks that train together; every rank returns the same result. Leaves the
// model in whatever mode it found it.
using ValidationHook = std::function<ValidationResult()>;

}  // namespace gensar::train
