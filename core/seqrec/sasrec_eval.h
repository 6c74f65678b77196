// Full-ranking evaluation of SASRec on a dataset's leave-one-out recommendation examples: the
// SASRec baseline numbers (HR@K / NDCG@K over the whole catalogue, no sampled candidates).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/seqrec/sasrec.h"

namespace gensar::data {
class Dataset;
enum class Split;
}

namespace gensar::seqrec {

struct RankingMetrics {
  int64_t examples = 0;
  double hr5 = 0, ndcg5 = 0, hr10 = 0, ndcg10 = 0;
};


// Evaluates every rec example of `split` (at most `max_examples` if > 0, taken in order): the rank of
// the target among all items (ties count against the target), history = the user's earlier rec
// clicks (data::history_end), oldest first.
RankingMetrics evaluate_full_ranking(SasRec& model, const data::Dataset& dataset, data::Split split,
                                     int64_t max_examples = 0, int64_t batch = 256);

}  // namespace gensar::seqrec
