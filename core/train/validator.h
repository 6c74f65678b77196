// Validation during training: one call of the evaluator (core/train/evaluator.h) on the
// validation split, so validation and `gensar eval` share one protocol and one case selection:
// the candidates protocol when the dataset has fixed candidates (the trie holds each case's 100
// candidates), else full ranking; all cases, or an evenly strided subset of max_cases per task.
// The model-selection score is the mean of rec and search NDCG@5 (GENSAR.md section 3); its
// standard error (from the per-case values) is reported beside it so a selection can be judged
// against noise.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/model/t5_model.h"
#include "core/train/sample_builder.h"
#include "data_pipeline/candidates.h"
#include "distributed/communicator.h"

namespace gensar::train {

struct ValidationOptions {
  int64_t max_cases = 0;  // per task; 0 = all validation cases; else an evenly strided subset
  int beams = 30;
  int batch_size = 16;    // cases decoded together
  data::Split split = data::Split::kValid;
  // Group that decodes the same cases in lockstep (the TP group): a stop request (SIGTERM/SIGUSR1)
  // is agreed over it before every batch, so a stop ends validation within one batch without one
  // TP rank leaving the others in a collective. Null: this rank decides alone.
  std::shared_ptr<dist::Communicator> stop_group;
};

struct ValidationResult {
  std::map<std::string, double> metrics;  // "rec.hr@1", "search.ndcg@5", ..., "<task>.count"
  double score = 0;                       // mean of rec.ndcg@5 and search.ndcg@5 (tasks present)
  double score_stderr = 0;                // standard error of `score` over the cases
  double seconds = 0;
  bool stopped = false;  // a stop request cut it short (on every rank): metrics are partial
};

// `candidates` may be null (full ranking). `dp` may be null (one process). Every rank returns
// the same result.
ValidationResult run_validation(model::T5Model model, const SampleBuilder& builder,
                                const data::EvalCandidates* candidates,
                                const ValidationOptions& options,
                                std::shared_ptr<dist::Communicator> dp);

}  // namespace gensar::train
