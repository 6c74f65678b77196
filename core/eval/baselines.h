// Baselines evaluated under the same splits, protocols, metrics and JSON as GenSAR
// (docs/evaluation.md, "Baselines"). Each is a BatchRanker for evaluate_with():
// - popularity (rec and search): items ranked by their rec clicks in the training part of every
//   user's sequence (events before the user's first held-out example), ties by item index;
// - bm25 (search only): BM25 of the case's query over item text (title, description, brand,
//   categories; data_pipeline/bm25.h), ties by item index;
// - sasrec (rec only): the embed-collab SASRec model's score of the next item after the user's
//   earlier rec clicks. Given as a scoring callback so this library does not link gensar_seqrec.
// - transitions (rec only): item-to-item transitions, the first-order Markov chain of sequential
//   recommendation: how often each item was clicked right after each of the user's recent clicks
//   in the training part of the log, the newer clicks weighing more; popularity breaks ties.
// - query-clicks (search only): the click log's lookup table: items ranked by how often they were
//   clicked for the case's query (the same query string) in the training part of the log;
//   popularity breaks ties.
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

// Per user, the end of the training part of its events: everything from its first held-out
// example (valid or test, either task) on is evaluation data.
std::vector<int64_t> training_event_ends(const data::Dataset& dataset);

// Rec clicks per item in the training part of the log (no held-out target is counted).
std::vector<int64_t> training_rec_clicks(const data::Dataset& dataset);

// Ranks `items` (or the whole catalogue when items is null) by score desc, then item asc; keeps
// the best `k`, skipping the sorted `excluded` items. Exposed for tests.
RankedList rank_by_score(const std::vector<double>& score_of_item, const int32_t* items,
                         int64_t num_items, int64_t k, const std::vector<int32_t>& excluded = {});
// The same for one case: its candidates (candidates protocol) or the catalogue, less its excluded.
RankedList rank_case_by_score(const std::vector<double>& score_of_item, const EvalCase& c, int64_t k);

BatchRanker popularity_ranker(const data::Dataset& dataset, int64_t k);

// Builds the BM25 index over the dataset's items (kept alive by the returned ranker).
BatchRanker bm25_ranker(const data::Dataset& dataset, int64_t k, data::Bm25Params params = {},
                        data::Bm25Fields fields = data::Bm25Fields::kTitleDescription);

// The transitions baseline: score(b) = sum over the last `max_history` rec clicks h_j of the history
// (j = 0 the newest) of decay^j * count(h_j -> b), count over consecutive rec clicks in the training
// part of every user's log; plus popularity scaled below any transition, so items no recent click
// leads to follow in popularity order. `decay` was chosen on the validation split of Amazon
// Scientific (docs/evaluation.md, "Baselines").
struct TransitionOptions {
  double decay = 0.75;
  int max_history = 50;
};
BatchRanker transition_ranker(const data::Dataset& dataset, int64_t k, TransitionOptions options = {});

// The query-clicks baseline: score(b) = count(query -> b) over the search clicks in the training
// part of every user's log, plus popularity scaled below one click. On a log whose queries recur
// (the Ai et al. queries of Amazon are derived from item categories) this lookup is what a
// generative model must at least learn; docs/evaluation.md, "Baselines".
BatchRanker query_click_ranker(const data::Dataset& dataset, int64_t k);

// histories (dense items, oldest first) -> float scores [histories.size(), num_items]; e.g.
// seqrec::SasRec::score_all_batch.
using SequenceScorer =
    std::function<torch::Tensor(const std::vector<std::vector<int64_t>>& histories)>;
BatchRanker sequence_ranker(const data::Dataset& dataset, SequenceScorer score_all, int64_t k);

}  // namespace gensar::eval
