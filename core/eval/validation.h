// Validation during training is one call of the evaluator (core/eval/evaluator.h) on the
// validation split, so validation and `gensar eval` share one protocol and one case selection
// (`--valid-cases` and `--max-cases` pick the same evenly strided subset): the candidates protocol
// when the dataset has fixed candidates, else full ranking. The model-selection score is the mean
// of rec and search NDCG@5 (docs/evaluation.md); its standard error (from the per-case values) is
// reported beside it so a selection can be judged against noise.
#pragma once

#include <cstdint>
#include <memory>

#include "core/model/t5_model.h"
#include "core/train/sample_builder.h"
#include "core/train/validation_hook.h"
#include "data_pipeline/candidates.h"
#include "distributed/communicator.h"

namespace gensar::eval {

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

// `candidates` may be null (full ranking). `dp` may be null (one process). Every rank returns
// the same result.
train::ValidationResult validate(model::T5Model model, const train::SampleBuilder& builder,
                                 const data::EvalCandidates* candidates,
                                 const ValidationOptions& options,
                                 std::shared_ptr<dist::Communicator> dp);

// `validate` bound to its arguments, for train::Trainer; keeps `builder` and `candidates` alive.
train::ValidationHook validation_hook(model::T5Model model,
                                      std::shared_ptr<const train::SampleBuilder> builder,
                                      std::shared_ptr<const data::EvalCandidates> candidates,
                                      ValidationOptions options,
                                      std::shared_ptr<dist::Communicator> dp);

}  // namespace gensar::eval
