#include "data_pipeline/splits.h"

#include "core/common/check.h"

namespace gensar::data {

void validate(const SplitOptions& o) {
  GENSAR_INPUT_CHECK(o.protocol == "loo" || o.protocol == "temporal",
                     "--split: '{}' is not one of loo, temporal", o.protocol);
  GENSAR_INPUT_CHECK(o.min_prior_rec >= 0 && o.min_prior_search >= 0,
                     "--min-prior-rec / --min-prior-search must be >= 0");
  if (o.protocol == "temporal") {
    GENSAR_INPUT_CHECK(o.test_start >= 0, "--split temporal needs --test-start (seconds since epoch)");
    GENSAR_INPUT_CHECK(o.valid_start < 0 || o.valid_start <= o.test_start,
                       "--valid-start {} is after --test-start {}", o.valid_start, o.test_start);
  }
}

void split_user(const SplitOptions& o, int32_t user, const std::vector<Event>& events,
                std::vector<Example> (&out)[2][3]) {
  std::vector<int32_t> eligible[2];
  int64_t prior[2] = {0, 0};  // rec, search events in [0, counted)
  int64_t counted = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(events.size()); ++i) {
    int64_t end = history_end(events, i);
    for (; counted < end; ++counted) ++prior[static_cast<int>(events[counted].kind)];
    if (prior[0] >= o.min_prior_rec && prior[1] >= o.min_prior_search) {
      eligible[static_cast<int>(events[i].kind)].push_back(static_cast<int32_t>(i));
    }
  }
  for (int task = 0; task < 2; ++task) {
    const auto& idx = eligible[task];
    for (size_t k = 0; k < idx.size(); ++k) {
      Split split;
      if (o.protocol == "loo") {
        split = k + 1 == idx.size() ? Split::kTest : k + 2 == idx.size() ? Split::kValid : Split::kTrain;
      } else {
        int64_t ts = events[idx[k]].timestamp;
        GENSAR_INPUT_CHECK(ts >= 0, "--split temporal: user {} has events without timestamps", user);
        int64_t valid_start = o.valid_start < 0 ? o.test_start : o.valid_start;
        split = ts >= o.test_start ? Split::kTest : ts >= valid_start ? Split::kValid : Split::kTrain;
      }
      out[task][static_cast<int>(split)].push_back(Example{user, idx[k]});
    }
  }
}

}  // namespace gensar::data
