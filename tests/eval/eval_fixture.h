// The trainer's tiny joint log (tests/train/train_fixture.h) with fixed candidates (target + 4
// negatives), and a seeded ToyScorer over its vocabulary: a whole evaluation in well under a second.
#pragma once

#include <memory>
#include <string>

#include "tests/support/toy_scorer.h"
#include "data_pipeline/candidates.h"
#include "tests/train/train_fixture.h"

namespace gensar::train::testing {

struct EvalFixture {
  TinyRun run;
  std::shared_ptr<data::EvalCandidates> candidates;
  std::unique_ptr<decoding::ToyScorer> scorer;
};

inline EvalFixture make_eval_fixture(const std::string& name) {
  EvalFixture f;
  f.run = make_tiny_run(name, {}, /*candidates=*/true);
  f.candidates = std::make_shared<data::EvalCandidates>(data::load_eval_candidates(f.run.dataset_dir));
  f.scorer = std::make_unique<decoding::ToyScorer>(f.run.pieces.tokenizer->vocab_size(), 16, 7);
  return f;
}

}  // namespace gensar::train::testing
