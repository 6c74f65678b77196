#include "core/eval/baselines.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "core/common/check.h"

namespace gensar::eval {

std::vector<int64_t> training_event_ends(const data::Dataset& ds) {
  std::vector<int32_t> cutoff(ds.num_users(), std::numeric_limits<int32_t>::max());
  for (data::Task task : {data::Task::kRec, data::Task::kSearch}) {
    for (data::Split split : {data::Split::kValid, data::Split::kTest}) {
      for (const auto& ex : ds.examples(task, split))
        cutoff[ex.user] = std::min(cutoff[ex.user], ex.event_index);
    }
  }
  std::vector<int64_t> ends(ds.num_users(), 0);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    ends[user] = cutoff[user] == std::numeric_limits<int32_t>::max()
                     ? static_cast<int64_t>(events.size())
                     : data::history_end(events, cutoff[user]);
  });
  return ends;
}

std::vector<int64_t> training_rec_clicks(const data::Dataset& ds) {
  const std::vector<int64_t> ends = training_event_ends(ds);
  std::vector<int64_t> clicks(ds.num_items(), 0);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    for (int64_t i = 0; i < ends[user]; ++i)
      if (events[i].kind == data::EventKind::kRec) ++clicks[events[i].item];
  });
  return clicks;
}

RankedList rank_by_score(const std::vector<double>& score_of_item, const int32_t* items,
                         int64_t n, int64_t k, const std::vector<int32_t>& excluded) {
  std::vector<int32_t> order;
  if (items) {
    order.assign(items, items + n);
  } else {
    order.resize(score_of_item.size());
    std::iota(order.begin(), order.end(), 0);
  }
  if (!excluded.empty())
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](int32_t item) {
                                 return std::binary_search(excluded.begin(), excluded.end(), item);
                               }),
                order.end());
  const auto better = [&](int32_t a, int32_t b) {
    if (score_of_item[a] != score_of_item[b]) return score_of_item[a] > score_of_item[b];
    return a < b;
  };
  const int64_t keep = std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);
  RankedList out;
  for (int64_t i = 0; i < keep; ++i) {
    out.items.push_back(order[i]);
    out.scores.push_back(score_of_item[order[i]]);
  }
  return out;
}

RankedList rank_case_by_score(const std::vector<double>& score_of_item, const EvalCase& c, int64_t k) {
  return rank_by_score(score_of_item, c.candidates, c.candidates ? c.num_candidates : 0, k, c.excluded);
}

BatchRanker popularity_ranker(const data::Dataset& ds, int64_t k) {
  const std::vector<int64_t> clicks = training_rec_clicks(ds);
  auto scores = std::make_shared<std::vector<double>>(clicks.begin(), clicks.end());
  return [scores, k](Protocol, data::Task, const std::vector<EvalCase>& cases,
                     std::vector<RankedList>* out) {
    out->clear();
    for (const auto& c : cases)
      out->push_back(rank_case_by_score(*scores, c, k));
  };
}

BatchRanker bm25_ranker(const data::Dataset& ds, int64_t k, data::Bm25Params params,
                        data::Bm25Fields fields) {
  auto index = std::make_shared<data::Bm25Index>(params);
  for (int32_t i = 0; i < ds.num_items(); ++i)
    index->add(data::bm25_item_document(ds.item_title(i), ds.item_description(i), ds.item_brand(i),
                                        ds.item_categories(i), fields));
  const data::Dataset* dsp = &ds;
  return [index, dsp, k](Protocol protocol, data::Task task, const std::vector<EvalCase>& cases,
                         std::vector<RankedList>* out) {
    GENSAR_INPUT_CHECK(task == data::Task::kSearch,
                       "the bm25 baseline ranks search cases only (use --tasks search)");
    out->clear();
    for (const auto& c : cases) {
      GENSAR_CHECK(c.query >= 0, "search case (user {}, event {}) has no query", c.user,
                   c.event_index);
      const std::string query(dsp->query_text(c.query));
      if (protocol == Protocol::kCandidates) {
        std::vector<double> score(dsp->num_items(), 0.0);
        for (int32_t i = 0; i < c.num_candidates; ++i)
          score[c.candidates[i]] = index->score(query, static_cast<uint32_t>(c.candidates[i]));
        out->push_back(rank_case_by_score(score, c, k));
      } else {
        // Only items sharing a word with the query score; the list ends there (a target without a
        // shared word is not retrieved).
        RankedList l;
        for (const auto& hit : index->top_k(query, static_cast<size_t>(k))) {
          l.items.push_back(hit.doc);
          l.scores.push_back(hit.score);
        }
        out->push_back(std::move(l));
      }
    }
  };
}

BatchRanker sequence_ranker(const data::Dataset& ds, SequenceScorer score_all, int64_t k) {
  const data::Dataset* dsp = &ds;
  return [dsp, score_all, k](Protocol, data::Task task, const std::vector<EvalCase>& cases,
                             std::vector<RankedList>* out) {
    GENSAR_INPUT_CHECK(task == data::Task::kRec,
                       "the sasrec baseline ranks recommendation cases only (use --tasks rec)");
    std::vector<std::vector<int64_t>> histories;
    for (const auto& c : cases) histories.push_back(rec_history(*dsp, c.user, c.event_index));
    torch::Tensor scores = score_all(histories).to(torch::kCPU, torch::kFloat64).contiguous();
    GENSAR_CHECK(scores.dim() == 2 && scores.size(0) == static_cast<int64_t>(cases.size()) &&
                     scores.size(1) == dsp->num_items(),
                 "sequence scorer returned {} scores for {} cases x {} items", scores.numel(),
                 cases.size(), dsp->num_items());
    out->clear();
    for (size_t i = 0; i < cases.size(); ++i) {
      const double* row = scores[i].data_ptr<double>();
      const std::vector<double> score(row, row + dsp->num_items());
      const auto& c = cases[i];
      out->push_back(rank_case_by_score(score, c, k));
    }
  };
}

namespace {

// Per key, its (item, count) pairs sorted by item: the count tables of the lookup baselines in the
// flat form their rankers walk per case.
using CountLists = std::vector<std::vector<std::pair<int32_t, int64_t>>>;
std::shared_ptr<const CountLists> count_lists(const std::vector<std::map<int32_t, int64_t>>& counting) {
  auto lists = std::make_shared<CountLists>(counting.size());
  for (size_t key = 0; key < counting.size(); ++key)
    (*lists)[key].assign(counting[key].begin(), counting[key].end());
  return lists;
}

// Popularity as a tie-break under a lookup table's scores: each item's training rec clicks scaled
// so that the most clicked item stays below half of `unit`, the smallest weight one count can get.
std::shared_ptr<const std::vector<double>> popularity_below(const std::vector<int64_t>& clicks,
                                                            double unit) {
  const double most = static_cast<double>(*std::max_element(clicks.begin(), clicks.end()));
  const double scale = unit / (2.0 * (most + 1.0));
  auto popularity = std::make_shared<std::vector<double>>(clicks.size());
  for (size_t i = 0; i < clicks.size(); ++i) (*popularity)[i] = scale * static_cast<double>(clicks[i]);
  return popularity;
}

}  // namespace

BatchRanker transition_ranker(const data::Dataset& ds, int64_t k, TransitionOptions options) {
  GENSAR_INPUT_CHECK(options.decay >= 0 && options.decay <= 1 && options.max_history >= 1,
                     "transitions baseline: decay must be in [0, 1] (got {}) and max history >= 1 "
                     "(got {})", options.decay, options.max_history);
  // successors[a] = (b, count) for every b clicked right after a (rec clicks only; the search
  // events between them do not break the chain), sorted by b; clicks as training_rec_clicks counts
  // them, in the same pass over the log.
  const std::vector<int64_t> ends = training_event_ends(ds);
  std::vector<std::map<int32_t, int64_t>> counting(ds.num_items());
  std::vector<int64_t> clicks(ds.num_items(), 0);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    int32_t previous = -1;
    for (int64_t i = 0; i < ends[user]; ++i) {
      if (events[i].kind != data::EventKind::kRec) continue;
      ++clicks[events[i].item];
      if (previous >= 0) ++counting[previous][events[i].item];
      previous = events[i].item;
    }
  });
  auto successors = count_lists(counting);
  // Popularity below the smallest transition weight (decay^(max_history - 1) of one count).
  const double floor_weight = std::pow(options.decay, options.max_history - 1);
  auto popularity = popularity_below(clicks, options.decay > 0 ? floor_weight : 1.0);
  const data::Dataset* dsp = &ds;
  return [dsp, successors, popularity, options, k](Protocol, data::Task task,
                                                   const std::vector<EvalCase>& cases,
                                                   std::vector<RankedList>* out) {
    GENSAR_INPUT_CHECK(task == data::Task::kRec,
                       "the transitions baseline ranks recommendation cases only (use --tasks rec)");
    out->clear();
    for (const auto& c : cases) {
      const std::vector<int64_t> history = rec_history(*dsp, c.user, c.event_index);
      std::vector<double> score = *popularity;
      double weight = 1.0;
      const int64_t oldest =
          std::max<int64_t>(0, static_cast<int64_t>(history.size()) - options.max_history);
      for (int64_t j = static_cast<int64_t>(history.size()); j-- > oldest; weight *= options.decay) {
        if (weight == 0) break;
        for (const auto& [next, count] : (*successors)[history[j]])
          score[next] += weight * static_cast<double>(count);
      }
      out->push_back(rank_case_by_score(score, c, k));
    }
  };
}

BatchRanker query_click_ranker(const data::Dataset& ds, int64_t k) {
  const std::vector<int64_t> ends = training_event_ends(ds);
  std::vector<std::map<int32_t, int64_t>> counting(ds.num_queries());
  std::vector<int64_t> clicks(ds.num_items(), 0);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    for (int64_t i = 0; i < ends[user]; ++i) {
      if (events[i].kind == data::EventKind::kRec) ++clicks[events[i].item];
      else if (events[i].query >= 0) ++counting[events[i].query][events[i].item];
    }
  });
  auto clicked = count_lists(counting);
  auto popularity = popularity_below(clicks, 1.0);
  return [clicked, popularity, k](Protocol, data::Task task, const std::vector<EvalCase>& cases,
                                  std::vector<RankedList>* out) {
    GENSAR_INPUT_CHECK(task == data::Task::kSearch,
                       "the query-clicks baseline ranks search cases only (use --tasks search)");
    out->clear();
    for (const auto& c : cases) {
      GENSAR_CHECK(c.query >= 0 && c.query < static_cast<int32_t>(clicked->size()),
                   "search case (user {}, event {}) has query {} of {}", c.user, c.event_index,
                   c.query, clicked->size());
      std::vector<double> score = *popularity;
      for (const auto& [item, count] : (*clicked)[c.query]) score[item] += static_cast<double>(count);
      out->push_back(rank_case_by_score(score, c, k));
    }
  };
}

}  // namespace gensar::eval
