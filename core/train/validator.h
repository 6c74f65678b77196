// Validation during training: constrained beam search over each validation case's fixed candidates
// (data_pipeline/candidates.h; the trie holds the candidates' identifiers) or, without a
// candidates file, over the whole catalogue; HR@{1,5,10} and NDCG@{5,10} for rec and search, and
// the model-selection score: the mean of rec and search NDCG@5 (GENSAR.md section 3).
// Cases are split over the DP group (case i on DP rank i % dp_size) and the sums all-reduced;
// TP ranks of a group decode the same cases together.
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
  int64_t max_cases = 0;  // per task; 0 = all validation cases (the first ones, in split order)
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
  bool stopped = false;  // a stop request cut it short (on every rank): metrics are partial
};

// `candidates` may be null (full ranking). `dp` may be null (one process).
ValidationResult run_validation(model::T5Model model, const SampleBuilder& builder,
                                const data::EvalCandidates* candidates,
                                const ValidationOptions& options,
                                std::shared_ptr<dist::Communicator> dp);

}  // namespace gensar::train
