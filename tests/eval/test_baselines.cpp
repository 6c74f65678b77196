// Baselines on the trainer's tiny joint log, checked against hand-derived expectations: the log is
// item(u, k) = (3u + k(2u + 1)) mod 8 for interactions k = 0..11 of users u = 0..5, every odd k also
// a search click, and leave-one-out splits.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/common/check.h"
#include "core/seqrec/sasrec.h"
#include "core/eval/baselines.h"
#include "tests/eval/eval_fixture.h"

namespace gensar::train {
using namespace ::gensar::eval;
namespace {

EvalOptions options(std::vector<data::Task> tasks,
                    std::vector<Protocol> protocols = {Protocol::kCandidates, Protocol::kFull}) {
  EvalOptions o;
  o.protocols = std::move(protocols);
  o.tasks = std::move(tasks);
  o.beams = 30;
  return o;
}

TEST(Baselines, RankByScoreOrdersByScoreThenItem) {
  const std::vector<double> score = {3, 9, 9, 1};
  EXPECT_EQ(rank_by_score(score, nullptr, 0, 10).items, (std::vector<int64_t>{1, 2, 0, 3}));
  const int32_t subset[] = {3, 2, 0};
  const RankedList l = rank_by_score(score, subset, 3, 2);
  EXPECT_EQ(l.items, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(l.scores, (std::vector<double>{9, 3}));
  // Excluded items are skipped and the list is filled from the next best.
  EXPECT_EQ(rank_by_score(score, nullptr, 0, 2, {1, 3}).items, (std::vector<int64_t>{2, 0}));
}

// With history exclusion a score ranker skips the case's history and fills the list from the rest
// of the catalogue (beam lists only lose those items: test_evaluator).
TEST(Baselines, ExcludeHistoryFillsScoreListsFromTheRestOfTheCatalogue) {
  auto f = testing::make_eval_fixture("pop-excl");
  const auto& ds = *f.run.pieces.dataset;
  EvalOptions o = options({data::Task::kRec}, {Protocol::kFull});
  o.exclude_history = true;
  o.beams = 3;
  const auto& examples = ds.examples(data::Task::kRec, data::Split::kTest);
  const EvalResult r = evaluate_with(popularity_ranker(ds, 30), ds, nullptr, o, nullptr);
  ASSERT_EQ(r.records.size(), examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const std::vector<int64_t> history = rec_history(ds, examples[i].user, examples[i].event_index);
    const std::set<int64_t> seen(history.begin(), history.end());
    const size_t left = static_cast<size_t>(ds.num_items()) - seen.size();
    EXPECT_EQ(r.records[i].items.size(), std::min<size_t>(3, left)) << r.records[i].case_id;
    for (int64_t item : r.records[i].items) EXPECT_EQ(seen.count(item), 0u) << r.records[i].case_id;
  }
}

TEST(Baselines, PopularityCountsTrainingClicksAndRanksTheMostClickedFirst) {
  auto f = testing::make_eval_fixture("pop");
  const auto& ds = *f.run.pieces.dataset;
  // Held out per user: rec k = 10, 11 and search k = 9, 11; the first held-out interaction is k = 9,
  // so training rec clicks are k = 0..8.
  std::vector<int64_t> expected(8, 0);
  for (int u = 0; u < 6; ++u)
    for (int k = 0; k <= 8; ++k) ++expected[(3 * u + k * (2 * u + 1)) % 8];
  std::vector<int64_t> clicks = training_rec_clicks(ds);
  std::vector<int64_t> by_key(8);
  for (int32_t i = 0; i < ds.num_items(); ++i)
    by_key[std::stoi(std::string(ds.item_key(i)).substr(1))] = clicks[i];
  EXPECT_EQ(by_key, expected);

  const int32_t most = static_cast<int32_t>(std::max_element(clicks.begin(), clicks.end()) - clicks.begin());
  EvalResult r = evaluate_with(popularity_ranker(ds, 30), ds, f.candidates.get(),
                               options({data::Task::kRec, data::Task::kSearch}), nullptr);
  ASSERT_FALSE(r.records.empty());
  for (const auto& rec : r.records) {
    if (rec.protocol == "full") {
      EXPECT_EQ(rec.items.front(), most);
      EXPECT_EQ(rec.items.size(), 8u);
    }
    for (size_t i = 1; i < rec.items.size(); ++i)
      EXPECT_GE(clicks[rec.items[i - 1]], clicks[rec.items[i]]);
  }
}

TEST(Baselines, Bm25RetrievesTheItemTheQueryNames) {
  auto f = testing::make_eval_fixture("bm25");
  const auto& ds = *f.run.pieces.dataset;
  // Every query of the tiny log names its item's title ("beaker" -> "glass beaker", ...).
  EvalResult r = evaluate_with(bm25_ranker(ds, 30), ds, f.candidates.get(),
                               options({data::Task::kSearch}), nullptr);
  EXPECT_DOUBLE_EQ(r.metrics.at("candidates").at("search.hr@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("full").at("search.hr@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("full").at("search.mrr"), 1.0);
  EXPECT_THROW(evaluate_with(bm25_ranker(ds, 30), ds, f.candidates.get(),
                             options({data::Task::kRec}), nullptr),
               InputError);
}

TEST(Baselines, SequenceRankerFollowsTheSasRecScores) {
  torch::set_num_threads(1);
  auto f = testing::make_eval_fixture("sasrec");
  const auto& ds = *f.run.pieces.dataset;
  seqrec::SasRecConfig c;
  c.num_items = ds.num_items();
  c.hidden = 16;
  c.max_len = 10;
  c.dropout = 0.0;
  auto model = std::make_shared<seqrec::SasRec>(c, 3);
  model->train(false);
  auto ranker = sequence_ranker(
      ds, [model](const std::vector<std::vector<int64_t>>& h) { return model->score_all_batch(h); }, 30);
  EvalResult r = evaluate_with(ranker, ds, f.candidates.get(), options({data::Task::kRec}), nullptr);
  const auto& examples = ds.examples(data::Task::kRec, data::Split::kTest);
  size_t i = 0;
  for (const auto& rec : r.records) {
    if (rec.protocol != "candidates") continue;
    const auto row = f.candidates->row(data::Task::kRec, data::Split::kTest, i);
    const auto& ex = examples[i++];
    EXPECT_EQ(std::set<int64_t>(rec.items.begin(), rec.items.end()),
              std::set<int64_t>(row.items, row.items + row.size));
    const auto history = rec_history(ds, ex.user, ex.event_index);
    EXPECT_FALSE(history.empty());
    torch::Tensor s = model->score(history, rec.items);
    for (int64_t j = 1; j < s.size(0); ++j) EXPECT_GE(s[j - 1].item<float>(), s[j].item<float>());
  }
  EXPECT_EQ(i, examples.size());
  EXPECT_THROW(
      evaluate_with(ranker, ds, nullptr, options({data::Task::kSearch}, {Protocol::kFull}), nullptr),
      InputError);
}

TEST(Baselines, TransitionsRankTheTrainingSuccessorsOfTheRecentClicks) {
  auto f = testing::make_eval_fixture("transitions");
  const auto& ds = *f.run.pieces.dataset;
  auto key_of = [&](int64_t item) { return std::stoi(std::string(ds.item_key(item)).substr(1)); };
  // Training rec clicks are k = 0..8 (see the popularity test): user u steps from item x to
  // x + 2u + 1 (mod 8), so the training transitions are the pairs k -> k + 1 for k = 0..7.
  int64_t count[8][8] = {};
  int64_t clicks[8] = {};
  for (int u = 0; u < 6; ++u)
    for (int k = 0; k <= 8; ++k) {
      ++clicks[(3 * u + k * (2 * u + 1)) % 8];
      if (k < 8) ++count[(3 * u + k * (2 * u + 1)) % 8][(3 * u + (k + 1) * (2 * u + 1)) % 8];
    }
  TransitionOptions t;
  t.decay = 0.5;
  EvalResult r = evaluate_with(transition_ranker(ds, 30, t), ds, f.candidates.get(),
                               options({data::Task::kRec}), nullptr);
  const auto& examples = ds.examples(data::Task::kRec, data::Split::kTest);
  size_t i = 0;
  for (const auto& rec : r.records) {
    if (rec.protocol != "full") continue;
    const auto& ex = examples[i++];
    double expected[8] = {};
    double weight = 1.0;
    const auto history = rec_history(ds, ex.user, ex.event_index);
    ASSERT_EQ(history.size(), 11u);  // rec clicks k = 0..10 (k = 10 is the valid target)
    for (size_t j = history.size(); j-- > 0; weight *= 0.5)
      for (int b = 0; b < 8; ++b) expected[b] += weight * count[key_of(history[j])][b];
    ASSERT_EQ(rec.items.size(), 8u);
    for (size_t j = 1; j < rec.items.size(); ++j) {
      const int a = key_of(rec.items[j - 1]), b = key_of(rec.items[j]);
      EXPECT_GE(expected[a], expected[b]) << "case " << i << " rank " << j;
      if (expected[a] == expected[b]) EXPECT_GE(clicks[a], clicks[b]) << "case " << i;
    }
  }
  EXPECT_EQ(i, examples.size());
  // With no decay only the newest click counts: its most frequent training successor comes first.
  t.decay = 0;
  EvalResult newest = evaluate_with(transition_ranker(ds, 30, t), ds, nullptr,
                                    options({data::Task::kRec}, {Protocol::kFull}), nullptr);
  i = 0;
  for (const auto& rec : newest.records) {
    const auto& ex = examples[i++];
    const int last = key_of(rec_history(ds, ex.user, ex.event_index).back());
    const int64_t best = *std::max_element(count[last], count[last] + 8);
    EXPECT_EQ(count[last][key_of(rec.items.front())], best);
  }
  EXPECT_THROW(transition_ranker(ds, 30, TransitionOptions{1.5, 50}), InputError);
  EXPECT_THROW(evaluate_with(transition_ranker(ds, 30), ds, nullptr,
                             options({data::Task::kSearch}, {Protocol::kFull}), nullptr),
               InputError);
}

TEST(Baselines, QueryClicksRankWhatWasClickedForTheQuery) {
  auto f = testing::make_eval_fixture("query-clicks");
  const auto& ds = *f.run.pieces.dataset;
  // Counted independently of training_event_ends: a user's training part ends at its first
  // held-out example of either task, less the rec click of that same review.
  std::map<std::pair<int32_t, int32_t>, int64_t> count;  // (query, item) -> training clicks
  const std::vector<int64_t> clicks = training_rec_clicks(ds);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    int32_t first = static_cast<int32_t>(events.size());
    for (data::Task task : {data::Task::kRec, data::Task::kSearch})
      for (data::Split split : {data::Split::kValid, data::Split::kTest})
        for (const auto& ex : ds.examples(task, split))
          if (ex.user == user) first = std::min(first, ex.event_index);
    const int64_t end = first < static_cast<int32_t>(events.size()) ? data::history_end(events, first)
                                                                    : first;
    for (int64_t i = 0; i < end; ++i)
      if (events[i].kind == data::EventKind::kSearch) ++count[{events[i].query, events[i].item}];
  });
  ASSERT_FALSE(count.empty());
  EvalResult r = evaluate_with(query_click_ranker(ds, 30), ds, f.candidates.get(),
                               options({data::Task::kSearch}), nullptr);
  // Every query of the tiny log names one item, clicked for it in training: the lookup is exact.
  EXPECT_DOUBLE_EQ(r.metrics.at("candidates").at("search.hr@1"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("full").at("search.hr@1"), 1.0);
  const auto& examples = ds.examples(data::Task::kSearch, data::Split::kTest);
  size_t i = 0;
  for (const auto& rec : r.records) {
    if (rec.protocol != "full") continue;
    const auto& ex = examples[i++];
    const int32_t query = ds.events(ex.user)[ex.event_index].query;
    auto key = [&](int64_t item) {
      auto it = count.find({query, static_cast<int32_t>(item)});
      return std::make_pair(it == count.end() ? 0 : it->second, clicks[item]);
    };
    for (size_t j = 1; j < rec.items.size(); ++j)
      EXPECT_GE(key(rec.items[j - 1]), key(rec.items[j])) << "case " << i << " rank " << j;
  }
  EXPECT_EQ(i, examples.size());
  EXPECT_THROW(evaluate_with(query_click_ranker(ds, 30), ds, nullptr,
                             options({data::Task::kRec}, {Protocol::kFull}), nullptr),
               InputError);
}

}  // namespace
}  // namespace gensar::train
