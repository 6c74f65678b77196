// SampleBuilder: the history holds exactly the last N rec clicks and M search sessions strictly
// before the target (never the target, nothing after it, and for a search example not the rec
// click of the same review), in time order; truncation drops the oldest entries; the epoch's
// sample list is a pure function of (seed, epoch).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/common/check.h"

#include "train_fixture.h"

using namespace gensar;
using namespace gensar::train;
using namespace gensar::train::testing;

namespace {

// The expected history, computed independently of data::history_end: events with a timestamp
// strictly below the target's (every interaction of the tiny log has its own timestamp).
std::vector<int64_t> expected_history(const SampleBuilder& b, int32_t user, int32_t target, int n,
                                      int m, size_t keep = SIZE_MAX) {
  int64_t count = 0;
  const data::Event* ev = b.user_events(user, &count);
  std::vector<std::vector<int64_t>> newest_first;
  int recs = 0, searches = 0;
  for (int64_t e = count - 1; e >= 0; --e) {
    if (ev[e].timestamp >= ev[target].timestamp) continue;
    std::vector<int64_t> entry;
    if (ev[e].kind == data::EventKind::kRec) {
      if (recs++ >= n) continue;
      entry.push_back(b.rec_item_token());
      auto id = b.collaborative_id(ev[e].item);
      entry.insert(entry.end(), id.begin(), id.end());
    } else {
      if (searches++ >= m) continue;
      entry.push_back(b.src_query_token());
      auto q = b.tokenizer().encode(std::string(b.dataset().query_text(ev[e].query)));
      entry.insert(entry.end(), q.begin(), q.end());
      entry.push_back(b.src_item_token());
      auto id = b.semantic_id(ev[e].item);
      entry.insert(entry.end(), id.begin(), id.end());
    }
    newest_first.push_back(entry);
  }
  if (newest_first.size() > keep) newest_first.resize(keep);
  const auto sep = b.tokenizer().encode(";");
  std::vector<int64_t> out;
  for (size_t k = newest_first.size(); k-- > 0;) {
    out.insert(out.end(), newest_first[k].begin(), newest_first[k].end());
    if (k > 0) out.insert(out.end(), sep.begin(), sep.end());
  }
  return out;
}

bool contains(const std::vector<int64_t>& hay, const std::vector<int64_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

}  // namespace

TEST(SampleBuilder, HistoryIsStrictlyBeforeTargetWithoutSameReviewRecClick) {
  SampleBuilderOptions opts;
  opts.history_rec = 2;
  opts.history_search = 2;
  TinyRun run = make_tiny_run("history", opts);
  const SampleBuilder& b = *run.pieces.builder;
  const data::Dataset& ds = b.dataset();
  int checked = 0, same_review_cases = 0;
  for (int t = 0; t < 2; ++t) {
    for (int s = 0; s < 3; ++s) {
      for (const auto& ex : ds.examples(static_cast<data::Task>(t), static_cast<data::Split>(s))) {
        int64_t count = 0;
        const data::Event* ev = b.user_events(ex.user, &count);
        std::vector<data::Event> events(ev, ev + count);
        const int32_t end = static_cast<int32_t>(data::history_end(events, ex.event_index));
        const auto history = b.build_history(ex.user, end);
        EXPECT_EQ(history, expected_history(b, ex.user, ex.event_index, 2, 2))
            << "user " << ex.user << " event " << ex.event_index;
        if (t == 1 && ex.event_index > 0 && data::same_interaction(ev[ex.event_index - 1], ev[ex.event_index])) {
          ++same_review_cases;
          // The rec click of the same review is not the last history entry.
          std::vector<int64_t> own = {b.rec_item_token()};
          auto id = b.collaborative_id(ev[ex.event_index].item);
          own.insert(own.end(), id.begin(), id.end());
          EXPECT_FALSE(history.size() >= own.size() &&
                       std::equal(own.begin(), own.end(), history.end() - own.size()));
        }
        // The full input contains this history and ends with eos.
        const Task task = t == 0 ? Task::kRec : Task::kSearch;
        const auto input = b.build_input(task, ex.user, ex.event_index, 0);
        EXPECT_TRUE(contains(input, history));
        EXPECT_EQ(input.back(), b.tokenizer().eos_id());
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_GT(same_review_cases, 5);  // every search example of the tiny log is a same-review case
}

TEST(SampleBuilder, TruncationDropsOldestHistoryFirst) {
  SampleBuilderOptions opts;
  opts.history_rec = 5;
  opts.history_search = 5;
  TinyRun run = make_tiny_run("trunc", opts);
  const SampleBuilder& full = *run.pieces.builder;
  const auto& ex = full.dataset().examples(data::Task::kRec, data::Split::kTest).front();
  const auto long_input = full.build_input(Task::kRec, ex.user, ex.event_index, 0);
  SampleBuilderOptions short_opts = opts;
  short_opts.max_input_len = static_cast<int>(long_input.size()) - 6;
  SampleBuilder cut(run.pieces.dataset, run.pieces.identifiers, run.pieces.tokenizer,
                    run.pieces.prompts, short_opts);
  const auto short_input = cut.build_input(Task::kRec, ex.user, ex.event_index, 0);
  EXPECT_LE(static_cast<int>(short_input.size()), short_opts.max_input_len);
  EXPECT_EQ(short_input.back(), full.tokenizer().eos_id());
  // The newest entry (the previous rec or search click) survives; the oldest does not.
  int64_t count = 0;
  const data::Event* ev = full.user_events(ex.user, &count);
  std::vector<int64_t> newest = {ev[ex.event_index - 1].kind == data::EventKind::kRec
                                     ? full.rec_item_token() : full.src_item_token()};
  auto id = ev[ex.event_index - 1].kind == data::EventKind::kRec
                ? full.collaborative_id(ev[ex.event_index - 1].item)
                : full.semantic_id(ev[ex.event_index - 1].item);
  newest.insert(newest.end(), id.begin(), id.end());
  EXPECT_TRUE(contains(short_input, newest));
  EXPECT_LT(short_input.size(), long_input.size());
}

TEST(SampleBuilder, TargetsEndWithEosAndCarryTheTaskMarker) {
  TinyRun run = make_tiny_run("targets");
  const SampleBuilder& b = *run.pieces.builder;
  auto rec = b.rec_target(3);
  ASSERT_EQ(rec.size(), 5u);
  EXPECT_EQ(rec.front(), b.rec_item_token());
  EXPECT_EQ(rec.back(), b.tokenizer().eos_id());
  auto search = b.search_target(3);
  EXPECT_EQ(search.front(), b.src_item_token());
  // Shared levels agree between both IDs, the specific level differs in this fixture.
  EXPECT_EQ(rec[1], search[1]);
  EXPECT_EQ(rec[2], search[2]);
  EXPECT_NE(rec[3], search[3]);
  TaskMixOptions mix;
  EpochSamples epoch(b, mix, 0);
  bool seen[kNumTasks] = {};
  for (int64_t i = 0; i < epoch.size(); ++i) {
    Sample s = b.build(epoch[i]);
    seen[static_cast<int>(s.task)] = true;
    ASSERT_FALSE(s.input.empty());
    EXPECT_EQ(s.input.back(), b.tokenizer().eos_id());
    EXPECT_EQ(s.target.back(), b.tokenizer().eos_id());
    EXPECT_LE(static_cast<int>(s.input.size()), b.options().max_input_len);
  }
  for (int t = 0; t < kNumTasks; ++t) EXPECT_TRUE(seen[t]) << task_name(static_cast<Task>(t));
}

TEST(SampleBuilder, EpochSamplesArePureFunctionsOfSeedAndEpoch) {
  TinyRun run = make_tiny_run("epochs");
  const SampleBuilder& b = *run.pieces.builder;
  TaskMixOptions mix;
  mix.search = 5;       // drawn from more: the draw depends on the epoch
  mix.next_query = 7;
  mix.query_item = 20;  // more than the 8 items: repeats by further permutations
  auto key = [&](const EpochSamples& e) {
    std::vector<std::tuple<int, int, int, int, int, int, int>> k;
    for (int64_t i = 0; i < e.size(); ++i)
      k.emplace_back(static_cast<int>(e[i].task), e[i].user, e[i].event_index, e[i].item,
                     e[i].query, e[i].collaborative, e[i].template_index);
    return k;
  };
  EpochSamples a(b, mix, 3), again(b, mix, 3), next(b, mix, 4);
  EXPECT_EQ(key(a), key(again));
  EXPECT_NE(key(a), key(next));
  EXPECT_EQ(a.size(), next.size());
  EXPECT_EQ(a.size(), epoch_sample_count(b, mix));
  TaskMixOptions other = mix;
  other.seed = mix.seed + 1;
  EXPECT_NE(key(a), key(EpochSamples(b, other, 3)));
  // Task switches: rec-only.
  TaskMixOptions rec_only = mix;
  rec_only.enable_only("rec");
  EpochSamples r(b, rec_only, 0);
  EXPECT_EQ(r.size(), static_cast<int64_t>(b.dataset().examples(data::Task::kRec, data::Split::kTrain).size()));
  for (int64_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].task, Task::kRec);
  EXPECT_THROW(rec_only.enable_only("rec,bogus"), gensar::InputError);
  EXPECT_THROW(rec_only.set_counts("search"), gensar::InputError);
}

// The rec history crop keeps the last k entries of a share of the rec examples, k in 1 .. N + M - 1,
// reproducibly per (seed, epoch); no other task and no evaluation input is touched.
TEST(SampleBuilder, RecHistoryCropKeepsTheLastEntries) {
  SampleBuilderOptions opts;
  opts.history_rec = 3;
  opts.history_search = 2;
  TinyRun run = make_tiny_run("crop", opts);
  const SampleBuilder& b = *run.pieces.builder;
  TaskMixOptions mix;
  mix.rec_history_crop = 1.0;
  int cropped_short = 0;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    EpochSamples e(b, mix, epoch);
    for (int64_t i = 0; i < e.size(); ++i) {
      const SampleRef& ref = e[i];
      if (ref.task != Task::kRec) {
        EXPECT_EQ(ref.history_keep, -1) << task_name(ref.task);
        continue;
      }
      ASSERT_GE(ref.history_keep, 1);
      ASSERT_LE(ref.history_keep, 4);
      const Sample s = b.build(ref);
      const auto history = expected_history(b, ref.user, ref.event_index, 3, 2, ref.history_keep);
      EXPECT_TRUE(contains(s.input, history)) << "user " << ref.user << " keep " << ref.history_keep;
      EXPECT_EQ(s.input, b.build_input(Task::kRec, ref.user, ref.event_index, ref.template_index,
                                       ref.history_keep));
      if (history != expected_history(b, ref.user, ref.event_index, 3, 2)) ++cropped_short;
    }
  }
  EXPECT_GT(cropped_short, 5);  // the crop shortened real histories
  // A share: about half the rec examples, the same ones for the same (seed, epoch).
  mix.rec_history_crop = 0.5;
  auto keeps = [&](int64_t epoch) {
    std::vector<int> k;
    EpochSamples e(b, mix, epoch);
    for (int64_t i = 0; i < e.size(); ++i)
      if (e[i].task == Task::kRec) k.push_back(e[i].history_keep);
    return k;
  };
  int cropped = 0, total = 0;
  for (int64_t epoch = 0; epoch < 20; ++epoch) {
    for (int k : keeps(epoch)) cropped += k >= 0, ++total;
  }
  EXPECT_EQ(keeps(7), keeps(7));
  EXPECT_GT(cropped, total * 3 / 10);
  EXPECT_LT(cropped, total * 7 / 10);
  mix.rec_history_crop = 0.0;
  for (int k : keeps(0)) EXPECT_EQ(k, -1);
  mix.rec_history_crop = 1.5;
  EXPECT_THROW(EpochSamples(b, mix, 0), gensar::InputError);
}

TEST(SampleBuilder, NeutralPromptIsTheSameTemplateForEveryTask) {
  SampleBuilderOptions opts;
  opts.neutral_prompt = true;
  TinyRun run = make_tiny_run("neutral", opts);
  const SampleBuilder& b = *run.pieces.builder;
  const auto& ex = b.dataset().examples(data::Task::kRec, data::Split::kTest).front();
  EXPECT_EQ(b.build_input(Task::kRec, ex.user, ex.event_index, 0),
            b.build_input(Task::kNextQuery, ex.user, ex.event_index, 0));
}

// Fidelity (the GenSAR paper, section 3): the current query is marked with <src_query> like history
// queries; query_item is search without a history (the [search] template, empty history); the
// item text of the text <-> identifier tasks carries categories and brand.
TEST(SampleBuilder, SearchQueryIsMarkedAndQueryItemIsSearchWithoutHistory) {
  TinyRun run = make_tiny_run("fidelity", {}, false, /*short_prompts=*/true);
  const SampleBuilder& b = *run.pieces.builder;
  const auto& ds = b.dataset();
  const auto& ex = ds.examples(data::Task::kSearch, data::Split::kTrain).at(0);
  const auto input = b.build_input(Task::kSearch, ex.user, ex.event_index, 0);
  int64_t n = 0;
  const data::Event& ev = b.user_events(ex.user, &n)[ex.event_index];
  const auto query = b.tokenizer().encode(std::string(ds.query_text(ev.query)));
  // The input ends with <src_query> + query + eos (the short template puts {query} last).
  ASSERT_GE(input.size(), query.size() + 2);
  const size_t q_at = input.size() - 1 - query.size();
  EXPECT_EQ(input[q_at - 1], b.src_query_token());
  EXPECT_TRUE(std::equal(query.begin(), query.end(), input.begin() + q_at));

  SampleRef ref;
  ref.task = Task::kQueryItem;
  ref.item = ev.item;
  ref.query = ev.query;
  const Sample s = b.build(ref);
  // "find {history} ; {query}" with an empty history: "find" ";" <src_query> query eos.
  const auto find = b.tokenizer().encode("find");
  const auto semi = b.tokenizer().encode(";");
  std::vector<int64_t> expected = find;
  expected.insert(expected.end(), semi.begin(), semi.end());
  expected.push_back(b.src_query_token());
  expected.insert(expected.end(), query.begin(), query.end());
  expected.push_back(b.tokenizer().eos_id());
  EXPECT_EQ(s.input, expected);
  EXPECT_EQ(s.target, b.search_target(ev.item));
}

TEST(SampleBuilder, ItemTextCarriesCategoriesAndBrand) {
  TinyRun run = make_tiny_run("itemtext");
  const auto& ds = run.pieces.builder->dataset();
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    const std::string text = item_text_for_model(ds, i);
    EXPECT_NE(text.find(std::string(ds.item_title(i))), std::string::npos);
    if (!ds.item_categories(i).empty())
      EXPECT_NE(text.find("Categories: " + std::string(ds.item_categories(i))), std::string::npos);
    if (!ds.item_brand(i).empty())
      EXPECT_NE(text.find("Brand: " + std::string(ds.item_brand(i))), std::string::npos);
  }
}
