// The evaluator on the trainer's tiny joint log with a seeded ToyScorer: protocol invariants,
// JSON keys, the case subset, outputs, and the inference helper.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/evaluator.h"
#include "core/train/inference.h"
#include "tests/eval/eval_fixture.h"

namespace gensar::train {
using namespace ::gensar::eval;
namespace {

using testing::make_eval_fixture;

EvalOptions both_protocols(int beams = 30) {
  EvalOptions o;
  o.protocols = {Protocol::kCandidates, Protocol::kFull};
  o.beams = beams;
  o.batch_size = 4;
  return o;
}

TEST(Evaluator, CandidatesProtocolReturnsOnlyTheCasesCandidates) {
  auto f = make_eval_fixture("cand");
  const auto& ds = *f.run.pieces.dataset;
  EvalOptions o = both_protocols();
  o.protocols = {Protocol::kCandidates};
  EvalResult r = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), o, nullptr);
  const size_t expected = ds.examples(data::Task::kRec, data::Split::kTest).size() +
                          ds.examples(data::Task::kSearch, data::Split::kTest).size();
  ASSERT_EQ(r.records.size(), expected);
  ASSERT_GT(expected, 0u);
  size_t index[2] = {0, 0};
  for (const auto& rec : r.records) {
    const data::Task task = rec.task == "rec" ? data::Task::kRec : data::Task::kSearch;
    const auto row = f.candidates->row(task, data::Split::kTest, index[static_cast<int>(task)]++);
    const std::set<int64_t> allowed(row.items, row.items + row.size);
    EXPECT_EQ(rec.target, row.target());
    // 30 beams > 5 candidates with distinct identifiers: every candidate comes back, nothing else.
    EXPECT_EQ(std::set<int64_t>(rec.items.begin(), rec.items.end()), allowed) << rec.case_id;
    EXPECT_EQ(rec.items.size(), allowed.size());
    EXPECT_GE(rec.rank, 1);
    EXPECT_TRUE(std::is_sorted(rec.scores.rbegin(), rec.scores.rend()));
  }
  EXPECT_DOUBLE_EQ(r.metrics.at("candidates").at("rec.hr@5"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("candidates").at("search.hr@5"), 1.0);
}

TEST(Evaluator, FullProtocolRanksTheCatalogueAndBeamsCapTheList) {
  auto f = make_eval_fixture("full");
  const auto& ds = *f.run.pieces.dataset;
  EvalOptions o = both_protocols(3);
  o.protocols = {Protocol::kFull};
  EvalResult r = evaluate(*f.scorer, *f.run.pieces.builder, nullptr, o, nullptr);
  ASSERT_FALSE(r.records.empty());
  for (const auto& rec : r.records) {
    EXPECT_EQ(rec.protocol, "full");
    EXPECT_EQ(rec.items.size(), 3u);
    for (int64_t item : rec.items) EXPECT_TRUE(item >= 0 && item < ds.num_items());
    if (rec.rank == 0) EXPECT_EQ(std::count(rec.items.begin(), rec.items.end(), rec.target), 0);
  }
  // hr@1 <= hr@5 and every hit lies within the 3 beams.
  const auto& m = r.metrics.at("full");
  EXPECT_LE(m.at("rec.hr@1"), m.at("rec.hr@5"));
  EXPECT_DOUBLE_EQ(m.at("rec.hr@5"), m.at("rec.hr@20"));
  // The candidates protocol without candidates.h5 is an input error.
  o.protocols = {Protocol::kCandidates};
  EXPECT_THROW(evaluate(*f.scorer, *f.run.pieces.builder, nullptr, o, nullptr), InputError);
}

// History exclusion reaches every ranked rec list, beam lists and score rankers alike, and leaves
// the search lists as they were.
TEST(Evaluator, ExcludeHistoryDropsTheCasesRecHistoryFromRecListsOnly) {
  auto f = make_eval_fixture("excl");
  const auto& ds = *f.run.pieces.dataset;
  EvalOptions o = both_protocols(30);
  o.protocols = {Protocol::kFull};
  const EvalResult plain = evaluate(*f.scorer, *f.run.pieces.builder, nullptr, o, nullptr);
  o.exclude_history = true;
  const EvalResult excluded = evaluate(*f.scorer, *f.run.pieces.builder, nullptr, o, nullptr);
  ASSERT_EQ(plain.records.size(), excluded.records.size());
  const auto& rec_examples = ds.examples(data::Task::kRec, data::Split::kTest);
  size_t rec_index = 0, dropped = 0;
  for (size_t i = 0; i < plain.records.size(); ++i) {
    const CaseRecord& a = plain.records[i];
    const CaseRecord& b = excluded.records[i];
    if (a.task == "search") {
      EXPECT_EQ(a.items, b.items) << a.case_id;
      continue;
    }
    const data::Example& ex = rec_examples[rec_index++];
    const std::vector<int64_t> history = rec_history(ds, ex.user, ex.event_index);
    ASSERT_FALSE(history.empty());
    std::vector<int64_t> expected;
    for (int64_t item : a.items)
      if (std::find(history.begin(), history.end(), item) == history.end()) expected.push_back(item);
    EXPECT_EQ(b.items, expected) << b.case_id;
    dropped += a.items.size() - b.items.size();
  }
  EXPECT_EQ(rec_index, rec_examples.size());
  EXPECT_GT(dropped, 0u);  // the tiny log's histories hold catalogue items the scorer ranks

}

TEST(Evaluator, JsonHasEveryMetricKeyPerProtocol) {
  auto f = make_eval_fixture("json");
  EvalResult r = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), both_protocols(), nullptr);
  const auto j = nlohmann::json::parse(metrics_json(r));
  for (const char* p : {"candidates", "full"}) {
    ASSERT_TRUE(j.contains(p)) << p;
    for (const char* task : {"rec", "search"}) {
      for (const char* m : {"hr@1", "hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr", "count"}) {
        const std::string key = std::string(task) + "." + m;
        ASSERT_TRUE(j[p].contains(key)) << p << " " << key;
        EXPECT_GE(j[p][key].get<double>(), 0.0);
      }
    }
  }
  const std::string table = metrics_table(r);
  EXPECT_NE(table.find("candidates"), std::string::npos);
  EXPECT_NE(table.find("ndcg@10"), std::string::npos);
}

TEST(Evaluator, MaxCasesPicksAFixedStridedSubset) {
  EXPECT_EQ(selected_examples(10, 3), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(selected_examples(4, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(selected_examples(4, 9), (std::vector<int64_t>{0, 1, 2, 3}));
  auto f = make_eval_fixture("subset");
  EvalOptions o = both_protocols();
  o.max_cases = 2;
  EvalResult a = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), o, nullptr);
  EXPECT_DOUBLE_EQ(a.metrics.at("candidates").at("rec.count"), 2.0);
  EXPECT_DOUBLE_EQ(a.metrics.at("full").at("search.count"), 2.0);
  o.batch_size = 1;  // batching changes nothing for a row-independent scorer
  EvalResult b = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), o, nullptr);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_EQ(a.records[i].case_id, b.records[i].case_id);
    EXPECT_EQ(a.records[i].items, b.records[i].items);
  }
}

TEST(Evaluator, WritesMetricsAndCasesThatCompareReads) {
  auto f = make_eval_fixture("outputs");
  EvalResult r = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), both_protocols(), nullptr);
  const std::string dir = f.run.dir + "/eval/test";
  write_eval_outputs(dir, r);
  std::ifstream in(dir + "/metrics.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(j["full"]["rec.mrr"].get<double>(), r.metrics.at("full").at("rec.mrr"));
  const auto back = eval::read_run_case_records(dir);
  ASSERT_EQ(back.size(), r.records.size());
  EXPECT_EQ(back.front().case_id, r.records.front().case_id);
  EXPECT_EQ(back.back().items, r.records.back().items);
}

TEST(Inference, TopKForKnownAnonymousAndUnknownUsers) {
  auto f = make_eval_fixture("infer");
  const auto& b = *f.run.pieces.builder;
  UserIndex users(b.dataset());
  std::vector<InferenceRequest> reqs = {{"u1", "blue pen"}, {"-", "beaker"}};
  for (Task task : {Task::kRec, Task::kSearch}) {
    auto out = infer_top_k(*f.scorer, b, task, users, reqs, 3, 30, 8);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& list : out) {
      ASSERT_EQ(list.size(), 3u);
      EXPECT_GE(list[0].score, list[1].score);
      EXPECT_GE(list[1].score, list[2].score);
      EXPECT_FALSE(list[0].key.empty());
      EXPECT_EQ(list[0].title, std::string(b.dataset().item_title(list[0].item)));
    }
  }
  // Excluding the history leaves out every item u1 clicked and keeps the rest in order.
  int64_t clicks = 0;
  const data::Event* events = b.user_events(users.find("u1"), &clicks);
  std::set<int64_t> clicked;
  for (int64_t e = 0; e < clicks; ++e)
    if (events[e].kind == data::EventKind::kRec) clicked.insert(events[e].item);
  const auto all = infer_top_k(*f.scorer, b, Task::kRec, users, {reqs[0]}, 30, 30, 1)[0];
  const auto fresh = infer_top_k(*f.scorer, b, Task::kRec, users, {reqs[0]}, 30, 30, 1, true)[0];
  std::vector<int32_t> expected, got;
  for (const auto& s : all)
    if (!clicked.count(s.item)) expected.push_back(s.item);
  for (const auto& s : fresh) got.push_back(s.item);
  EXPECT_EQ(got, expected);
  EXPECT_LT(got.size(), all.size());
  EXPECT_THROW(users.find("nobody"), InputError);
  // The search input carries the query; an anonymous user's input is the prompt alone.
  const auto q = b.tokenizer().encode("beaker");
  const auto input = inference_input(b, Task::kSearch, -1, 0, "beaker");
  EXPECT_EQ(input.back(), b.tokenizer().eos_id());
  EXPECT_NE(std::search(input.begin(), input.end(), q.begin(), q.end()), input.end());
  EXPECT_EQ(std::count(input.begin(), input.end(), b.rec_item_token()), 0);
  int64_t n = 0;
  b.user_events(users.find("u1"), &n);
  const auto full = inference_input(b, Task::kRec, users.find("u1"), n, "");
  EXPECT_GT(std::count(full.begin(), full.end(), b.rec_item_token()), 0);
  const auto line = nlohmann::json::parse(inference_json(reqs[0], infer_top_k(*f.scorer, b, Task::kSearch, users, {reqs[0]}, 2, 2, 1)[0], true));
  EXPECT_EQ(line["user"], "u1");
  EXPECT_EQ(line["query"], "blue pen");
  EXPECT_EQ(line["items"].size(), 2u);
  EXPECT_EQ(line["items"][0]["rank"], 1);
}

TEST(Inference, BatchFileErrorsNameTheLine) {
  const std::string path = ::testing::TempDir() + "/gensar-infer-batch.tsv";
  {
    std::ofstream out(path);
    out << "# user\tquery\nu1\tred pen\n\nu2\n";
  }
  EXPECT_THROW(read_inference_requests(path, true), InputError);
  const auto users = read_inference_requests(path, false);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].user, "u1");
  try {
    read_inference_requests(path, true);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":4:"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gensar::train
