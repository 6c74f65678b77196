// Split protocols (docs/data-format.md, "Splits"). An event of kind K is an example of task K when
// its history (events before its interaction: history_end) holds at least min_prior_rec rec events
// and min_prior_search search events (GenSAR: an earlier rec item and an earlier search session).
// - leave-one-out: per user and task, the last example is test, the second-to-last valid, the rest
//   train (a user with one example has only a test example);
// - temporal: by the target's timestamp: >= test_start test, in [valid_start, test_start) valid,
//   earlier train.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data_pipeline/dataset.h"

namespace gensar::data {

struct SplitOptions {
  std::string protocol = "loo";  // "loo" | "temporal"
  int min_prior_rec = 1;
  int min_prior_search = 1;
  int64_t test_start = -1;       // temporal only (seconds since epoch)
  int64_t valid_start = -1;      // temporal only; -1 = same as test_start (no validation examples)
};

void validate(const SplitOptions& options);

// Appends the examples of one user (time-ordered `events`) to out[task][split], with `user` as the
// example's user index.
void split_user(const SplitOptions& options, int32_t user, const std::vector<Event>& events,
                std::vector<Example> (&out)[2][3]);

}  // namespace gensar::data
