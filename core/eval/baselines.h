// Baselines evaluated under the same splits, protocols, metrics and JSON as GenSAR
// (docs/evaluation.md, "Baselines"). Each is a BatchRanker for evaluate_with():
// - popularity (rec and search): items ranked by their rec clicks in the training part of every
//   user's sequence (events before the user's first held-out example), ties by item index;
// - bm25 (search only): BM25 of the case's query over item text (title, description, brand,
//   categories; data_pipeline/bm25.h), ties by item index;
// - sasrec (rec only): the embed-collab SASRec model's score of the next item after the user's
//   earlier rec clicks. Given as a scoring callback so this library does not link gensar_seqrec.
// A baseline asked for a task it does not cover throws InputError.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/eval/evaluator.h"
#include "data_pipeline/bm25.h"
#include "data_pipeline/dataset.h"

namespace gensar::eval {

// Rec clicks per item in the training part of the log (no held-out target is counted).
std::vector<int64_t> training_rec_clicks(const data::Dataset& dataset);

// Ranks `items` (or the whole catalogue when items is null) by score desc, then item asc; keeps
// the best `k`. Exposed for tests.
RankedList rank_by_score(const std::vector<double>& score_of_item, const int32_t* items,
                         int64_t num_items, int64_t k);

BatchRanker popularity_ranker(const data::Dataset& dataset, int64_t k);

// Builds the BM25 index over the dataset's items (kept alive by the returned ranker).
BatchRanker bm25_ranker(const data::Dataset& dataset, int64_t k, data::Bm25Params params = {},
                        data::Bm25Fields fields = data::Bm25Fields::kTitleDescription);

// histories (dense items, oldest first) -> float scores [histories.size(), num_items]; e.g.
// seqrec::SasRec::score_all_batch.
using SequenceScorer =
    std::function<torch::Tensor(const std::vector<std::vector<int64_t>>& histories)>;
BatchRanker sequence_ranker(const data::Dataset& dataset, SequenceScorer score_all, int64_t k);

// The earlier rec clicks of a case (data::history_end), oldest first.
std::vector<int64_t> rec_history(const data::Dataset& dataset, int32_t user, int32_t event_index);

}  // namespace gensar::eval
