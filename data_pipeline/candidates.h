// Fixed evaluation candidates: drawn once at ingest, stored as DIR/candidates.h5, reused by every
// evaluation so numbers are comparable across runs (never redrawn). Protocol (docs/candidates.md):
// - recommendation: `negatives` items drawn by popularity (weight = (rec clicks + smoothing)^power),
//   without replacement, excluding every item the user ever interacted with;
// - search: the `negatives` best BM25 hits for the example's query over item text, excluding the
//   target; if BM25 returns fewer, the rest is filled by popularity as for recommendation.
// Each example's RNG is seeded from (seed, task, split, user, event index), so the result does not
// depend on thread or rank count. Row layout: target first, then the negatives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data_pipeline/bm25.h"
#include "data_pipeline/dataset.h"

namespace gensar::data {

struct CandidateOptions {
  int negatives = 99;                 // negatives per example (plus the target)
  uint64_t seed = 2025;
  double popularity_smoothing = 0.0;  // added to every item's rec-click count before the power
  double popularity_power = 1.0;      // 1 = proportional to clicks, 0 = uniform
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  Bm25Fields bm25_fields = Bm25Fields::kTitleDescription;  // the search negatives' BM25 document
  int threads = 1;                    // worker threads (results are identical for any count)
};

// Reads `dataset_dir` through Dataset (it may be ingest's temporary directory) and writes
// `dataset_dir`/candidates.h5. Overwrites an existing file.
void write_eval_candidates(const std::string& dataset_dir, const CandidateOptions& options);

class EvalCandidates {
 public:
  struct Row {
    int32_t user = 0;         // as Example::user
    int32_t event_index = 0;  // as Example::event_index
    const int32_t* items = nullptr;  // items[0] is the target, items[1..size) the negatives
    int32_t size = 0;
    int32_t target() const { return items[0]; }
  };

  // Rows of (task, split), aligned with Dataset::examples(task, split); split is kValid or kTest.
  size_t size(Task task, Split split) const;
  Row row(Task task, Split split, size_t example) const;
  int negatives() const { return negatives_; }
  uint64_t seed() const { return seed_; }
  const std::string& options_json() const { return options_json_; }

 private:
  friend EvalCandidates load_eval_candidates(const std::string& dir);
  struct Table {
    std::vector<int32_t> user, event_index, items;
    std::vector<int64_t> offsets{0};
  };
  const Table& table(Task task, Split split) const;
  Table tables_[2][2];  // [task][valid=0, test=1]
  int negatives_ = 0;
  uint64_t seed_ = 0;
  std::string options_json_;
};

// Loads DIR/candidates.h5; throws InputError if missing or malformed.
EvalCandidates load_eval_candidates(const std::string& dir);

}  // namespace gensar::data
