// Metrics on hand-computed cases, the per-case JSONL round trip, and the paired significance tests
// on constructed runs whose p-values are known in closed form.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/metrics.h"
#include "core/eval/significance.h"

namespace gensar::eval {
namespace {

TEST(Metrics, RankAndSingleCaseValues) {
  EXPECT_EQ(target_rank({9, 4, 7}, 7), 3);
  EXPECT_EQ(target_rank({9, 4, 7}, 5), 0);
  EXPECT_DOUBLE_EQ(ndcg_at(1, 5), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at(3, 5), 0.5);  // 1 / log2(4)
  EXPECT_DOUBLE_EQ(ndcg_at(6, 5), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at(0, 5), 0.0);
  EXPECT_DOUBLE_EQ(hit_at(5, 5), 1.0);
  EXPECT_DOUBLE_EQ(hit_at(0, 5), 0.0);
  EXPECT_DOUBLE_EQ(reciprocal_rank(4), 0.25);
  EXPECT_DOUBLE_EQ(reciprocal_rank(0), 0.0);
  EXPECT_DOUBLE_EQ(metric_value("recall@10", 10), 1.0);
  EXPECT_THROW(metric_value("map@10", 1), InputError);
}

TEST(Metrics, AggregatesHandComputedCases) {
  MetricAccumulator acc;
  for (int64_t rank : {1, 3, 0, 12, 25}) acc.add("rec", rank);
  acc.add("search", 2);
  auto m = acc.means();
  EXPECT_DOUBLE_EQ(m["rec.count"], 5);
  EXPECT_DOUBLE_EQ(m["rec.hr@1"], 0.2);
  EXPECT_DOUBLE_EQ(m["rec.hr@5"], 0.4);
  EXPECT_DOUBLE_EQ(m["rec.hr@10"], 0.4);
  EXPECT_DOUBLE_EQ(m["rec.hr@20"], 0.6);
  EXPECT_DOUBLE_EQ(m["rec.ndcg@5"], 0.3);  // (1 + 0.5) / 5
  EXPECT_DOUBLE_EQ(m["rec.ndcg@10"], 0.3);
  EXPECT_NEAR(m["rec.ndcg@20"], 0.354047630885464, 1e-12);  // (1 + 0.5 + 1/log2(13)) / 5
  EXPECT_NEAR(m["rec.mrr"], 0.291333333333333, 1e-12);       // (1 + 1/3 + 1/12 + 1/25) / 5
  EXPECT_NEAR(m["search.ndcg@5"], 0.630929753571457, 1e-12);  // 1 / log2(3)
  EXPECT_DOUBLE_EQ(m["search.hr@1"], 0.0);

  // Merging partial accumulators (as ranks would) gives the same means.
  MetricAccumulator a, b;
  for (int64_t rank : {1, 3}) a.add("rec", rank);
  for (int64_t rank : {0, 12, 25}) b.add("rec", rank);
  b.add("search", 2);
  a.merge(b);
  EXPECT_EQ(a.means(), m);
}

TEST(CaseRecords, JsonlRoundTripAndErrors) {
  std::vector<CaseRecord> records = {
      make_case_record("u1", "candidates", "rec", 42, {7, 42, 3}, {-0.5, -1.0, -2.0}),
      make_case_record("u2", "", "search", 5, {1, 2}),
  };
  EXPECT_EQ(records[0].rank, 2);
  EXPECT_EQ(records[1].rank, 0);
  EXPECT_EQ(records[0].group(), "candidates/rec");
  EXPECT_EQ(records[1].group(), "search");
  EXPECT_EQ(case_record_to_json(records[1]),
            R"({"case_id":"u2","task":"search","target":5,"rank":0,"items":[1,2]})");

  const std::string path = ::testing::TempDir() + "/cases.jsonl";
  write_case_records(path, records);
  std::vector<CaseRecord> back = read_case_records(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].case_id, "u1");
  EXPECT_EQ(back[0].protocol, "candidates");
  EXPECT_EQ(back[0].items, (std::vector<int64_t>{7, 42, 3}));
  EXPECT_EQ(back[0].scores, (std::vector<double>{-0.5, -1.0, -2.0}));
  EXPECT_EQ(back[1].task, "search");
  EXPECT_TRUE(back[1].scores.empty());

  {
    std::ofstream bad(path);
    bad << case_record_to_json(records[0]) << "\n" << R"({"case_id":"u3","task":"rec"})" << "\n";
  }
  try {
    read_case_records(path);
    FAIL() << "missing field accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cases.jsonl:2: missing field 'target'"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());

  // A run directory: its *.jsonl files are read in name order, other files ignored.
  const std::string dir = ::testing::TempDir() + "/gensar_run_dir";
  std::filesystem::create_directories(dir);
  write_case_records(dir + "/b_search.jsonl", {records[1]});
  write_case_records(dir + "/a_rec.jsonl", {records[0]});
  { std::ofstream(dir + "/notes.txt") << "not a record\n"; }
  std::vector<CaseRecord> run = read_run_case_records(dir);
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run[0].case_id, "u1");
  EXPECT_EQ(run[1].case_id, "u2");
  std::filesystem::remove_all(dir);
  EXPECT_THROW(read_run_case_records(dir), InputError);
}

TEST(Significance, PairedTestOnConstructedDifferences) {
  // Differences b - a: eight +1 and two 0. Mean 0.8, sd sqrt(1.6/9), t = 6 with 9 degrees of
  // freedom: two-sided p = I_{9/45}(4.5, 0.5) = 2.02499e-4.
  std::vector<double> a(10, 0.0), b = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  PairedTest t = paired_test(a, b, 20000, 2024);
  EXPECT_EQ(t.n, 10);
  EXPECT_DOUBLE_EQ(t.mean_diff, 0.8);
  EXPECT_NEAR(t.t_statistic, 6.0, 1e-12);
  EXPECT_NEAR(t.t_p_value, 2.02499322067641e-4, 1e-9);
  // Exact randomisation p: |sum| reaches 8 only if all eight nonzero signs agree: 2/256.
  EXPECT_NEAR(t.randomisation_p_value, 2.0 / 256, 0.002);
  EXPECT_LE(t.ci_low, t.mean_diff);
  EXPECT_GE(t.ci_high, t.mean_diff);
  EXPECT_GE(t.ci_low, 0.5);  // resampled means of eight 1s and two 0s rarely drop below 0.5
  EXPECT_LE(t.ci_high, 1.0);
  // Seeded: the same seed gives the same resampling answers.
  PairedTest again = paired_test(a, b, 20000, 2024);
  EXPECT_EQ(again.randomisation_p_value, t.randomisation_p_value);
  EXPECT_EQ(again.ci_low, t.ci_low);

  PairedTest same = paired_test(b, b, 1000, 1);
  EXPECT_DOUBLE_EQ(same.mean_diff, 0.0);
  EXPECT_DOUBLE_EQ(same.t_p_value, 1.0);
  EXPECT_DOUBLE_EQ(same.randomisation_p_value, 1.0);
}

TEST(Significance, CompareRunsPairsCasesByKey) {
  std::vector<CaseRecord> a, b;
  // Run B ranks the target first where run A ranked it third; case order differs between runs.
  for (int i = 0; i < 6; ++i) {
    a.push_back(make_case_record("c" + std::to_string(i), "full", "rec", i, {100, 101, i}));
  }
  for (int i = 5; i >= 0; --i) {
    b.push_back(make_case_record("c" + std::to_string(i), "full", "rec", i, {i, 100, 101}));
  }
  a.push_back(make_case_record("only-a", "full", "rec", 1, {1}));
  RunComparison cmp = compare_runs(a, b, 500, 7);
  EXPECT_EQ(cmp.paired, 6);
  EXPECT_EQ(cmp.only_in_a, 1);
  EXPECT_EQ(cmp.only_in_b, 0);
  ASSERT_EQ(cmp.tests.size(), metric_names().size());
  for (const PairedTest& t : cmp.tests) {
    EXPECT_EQ(t.n, 6);
    if (t.metric == "full/rec.hr@1") {
      EXPECT_DOUBLE_EQ(t.mean_a, 0.0);
      EXPECT_DOUBLE_EQ(t.mean_b, 1.0);
      EXPECT_DOUBLE_EQ(t.t_p_value, 0.0);  // a constant, nonzero difference
    }
    if (t.metric == "full/rec.ndcg@5") EXPECT_DOUBLE_EQ(t.mean_diff, 0.5);
    if (t.metric == "full/rec.hr@5") EXPECT_DOUBLE_EQ(t.mean_diff, 0.0);
  }
  const std::string table = comparison_table(cmp, "runA", "runB");
  EXPECT_NE(table.find("paired cases 6 (only in A 1, only in B 0)"), std::string::npos) << table;
  EXPECT_NE(table.find("full/rec.ndcg@5"), std::string::npos) << table;
  const std::string json = comparison_json(cmp, "runA", "runB", 500);
  EXPECT_NE(json.find("\"metric\": \"full/rec.hr@1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"t\": null"), std::string::npos) << json;  // infinite t for hr@1

  b[0].target = 99;  // a different split: refuse to compare
  EXPECT_THROW(compare_runs(a, b, 10, 7), InputError);
}

}  // namespace
}  // namespace gensar::eval
