// gensar report on a hand-written sweep directory: rows, best marks, shared baselines listed once,
// paired significance where both runs have per-case JSONL, markdown and JSON files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/significance.h"
#include "launch/config.h"

namespace fs = std::filesystem;
using namespace gensar::launch;
using nlohmann::json;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 40 rec cases under the candidate protocol; `hits` of them ranked first, the rest not retrieved.
std::vector<gensar::eval::CaseRecord> cases(int hits) {
  std::vector<gensar::eval::CaseRecord> out;
  for (int i = 0; i < 40; ++i) {
    std::vector<int64_t> items = i < hits ? std::vector<int64_t>{i, 100 + i}
                                          : std::vector<int64_t>{100 + i, 200 + i};
    out.push_back(gensar::eval::make_case_record("u" + std::to_string(i), "candidates", "rec",
                                                     i, items));
  }
  return out;
}

struct Fixture {
  fs::path root;
  std::vector<gensar::eval::CaseRecord> full_cases = cases(36), rec_cases = cases(12);

  Fixture() {
    root = fs::path(::testing::TempDir()) / "gensar_report_sweep";
    fs::remove_all(root);
    write_file(root / "variants.txt", "full\nrec-only\nsearch-only\n");
    write_file(root / "full/metrics/gensar.json",
               R"({"candidates": {"rec.hr@1": 0.9, "rec.hr@10": 0.9, "search.hr@1": 0.2, "rec.count": 40},
                   "full": {"rec.hr@10": 0.05}})");
    write_file(root / "rec-only/metrics/gensar.json",
               R"({"candidates": {"rec.hr@1": 0.3, "rec.hr@10": 0.3, "search.hr@1": 0.4}})");
    write_file(root / "search-only/metrics/gensar.json",
               R"({"candidates": {"rec.hr@1": 0.3, "rec.hr@10": 0.1, "search.hr@1": 0.1}})");
    write_file(root / "full/metrics/bm25.json", R"({"candidates": {"search.hr@1": 0.4}})");
    // Shared baseline: the other variants link to full's file, as `gensar sweep` does.
    fs::create_symlink("../../full/metrics/bm25.json", root / "rec-only/metrics/bm25.json");
    gensar::eval::write_case_records((root / "full/metrics/gensar.jsonl").string(), full_cases);
    gensar::eval::write_case_records((root / "rec-only/metrics/gensar.jsonl").string(),
                                         rec_cases);
  }
};

int run_report(const std::vector<std::string>& args, std::string* out) {
  const Verb* verb = find_verb("report");
  EXPECT_NE(verb, nullptr);
  std::ostringstream captured;
  struct Restore {  // also when the verb throws
    std::streambuf* old;
    ~Restore() { std::cout.rdbuf(old); }
  } restore{std::cout.rdbuf(captured.rdbuf())};
  const int rc = verb->run(resolve(*verb, args));
  *out = captured.str();
  return rc;
}

}  // namespace

TEST(Report, TablesBestMarksAndSignificance) {
  Fixture f;
  const std::string md = (f.root / "report.md").string(), js = (f.root / "report.json").string();
  std::string text;
  ASSERT_EQ(run_report({f.root.string(), "--markdown", md, "--json-out", js, "--resamples", "500"},
                       &text),
            0);
  const json report = json::parse(read_file(js));
  EXPECT_EQ(report["reference"], "full");  // default: gensar-full if present, else the first run
  const json& cand = report["protocols"]["candidates"];
  // Columns with a value somewhere, in report order; ".count" is not a column.
  EXPECT_EQ(cand["columns"], json({"rec.hr@1", "rec.hr@10", "search.hr@1"}));
  ASSERT_EQ(cand["rows"].size(), 4u);  // three variants, bm25 once though two workdirs have it
  EXPECT_EQ(cand["rows"][0]["system"], "full");
  EXPECT_EQ(cand["rows"][1]["system"], "rec-only");
  EXPECT_EQ(cand["rows"][2]["system"], "search-only");
  EXPECT_EQ(cand["rows"][3]["system"], "bm25");
  EXPECT_EQ(cand["rows"][3]["baseline"], true);
  EXPECT_EQ(cand["rows"][0]["best"], json({"rec.hr@1", "rec.hr@10"}));
  EXPECT_EQ(cand["rows"][1]["best"], json({"search.hr@1"}));  // tie 0.4 with bm25: both marked
  EXPECT_EQ(cand["rows"][3]["best"], json({"search.hr@1"}));
  EXPECT_EQ(cand["rows"][2]["best"], json::array());

  // Significance: rec-only against full from their per-case files, equal to compare_runs' result.
  const auto expected = gensar::eval::compare_runs(f.full_cases, f.rec_cases, 500, 2024);
  double expected_p = -1;
  for (const auto& t : expected.tests)
    if (t.metric == "candidates/rec.hr@1") expected_p = t.randomisation_p_value;
  ASSERT_GE(expected_p, 0);
  EXPECT_LT(expected_p, 0.01);
  const json& sig = cand["rows"][1]["significance"]["rec.hr@1"];
  EXPECT_DOUBLE_EQ(sig["p_value"].get<double>(), expected_p);
  EXPECT_EQ(sig["n"], 40);
  EXPECT_NEAR(sig["mean_diff"].get<double>(), 0.3 - 0.9, 1e-12);
  // search-only has no per-case file: no test; full is the reference.
  EXPECT_FALSE(cand["rows"][2].contains("significance"));
  EXPECT_FALSE(cand["rows"][0].contains("significance"));
  // Only candidates-protocol cases exist: the full protocol table has no significance.
  EXPECT_FALSE(report["protocols"]["full"]["rows"][0].contains("significance"));
  EXPECT_EQ(report["protocols"]["full"]["rows"].size(), 1u);

  const std::string markdown = read_file(md);
  EXPECT_NE(markdown.find("| full | **0.9000** | **0.9000** | 0.2000 |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| rec-only | 0.3000 | 0.3000 | **0.4000** |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("p-values against full"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| rec-only | 40 |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("## full-catalogue ranking"), std::string::npos) << markdown;
  EXPECT_NE(text.find("0.9000*"), std::string::npos) << text;
}

TEST(Report, ExplicitReferenceAndPositionalWorkdirs) {
  Fixture f;
  std::string out;
  ASSERT_EQ(run_report({(f.root / "rec-only").string(), (f.root / "full").string(), "--reference",
                        "rec-only", "--json", "--resamples", "0"},
                       &out),
            0);
  const json report = json::parse(out);
  EXPECT_EQ(report["reference"], "rec-only");
  const json& rows = report["protocols"]["candidates"]["rows"];
  ASSERT_EQ(rows.size(), 3u);  // rec-only, full, bm25 (one file behind the link)
  EXPECT_EQ(rows[0]["system"], "rec-only");
  EXPECT_EQ(rows[1]["system"], "full");
  // --resamples 0: the paired t-test's p-value, for full against rec-only.
  const json& sig = rows[1]["significance"]["rec.hr@1"];
  EXPECT_DOUBLE_EQ(sig["p_value"].get<double>(), sig["t_p_value"].get<double>());
  EXPECT_NEAR(sig["mean_diff"].get<double>(), 0.6, 1e-12);
}

TEST(Report, BadInputsAreErrors) {
  Fixture f;
  std::string out;
  EXPECT_THROW(run_report({(f.root / "nowhere").string()}, &out), gensar::InputError);
  EXPECT_THROW(run_report({f.root.string(), "--reference", "nobody"}, &out), gensar::InputError);
  write_file(f.root / "broken/metrics/gensar.json", "{not json");
  EXPECT_THROW(run_report({(f.root / "broken").string()}, &out), gensar::InputError);
}

TEST(Report, HtmlPageIntervalsCurvesAndIdentifiers) {
  Fixture f;
  write_file(f.root / "full/run/metrics.jsonl",
             R"({"consumed_samples":8,"loss":5.0,"step":1,"task_loss":{"rec":5.5,"search":4.5}}
{"consumed_samples":16,"loss":4.0,"step":2,"task_loss":{"rec":4.2,"search":3.8}}
{"best":0.25,"score":0.25,"step":2,"validation":{"rec.ndcg@5":0.3,"search.ndcg@5":0.2}}
{"best":0.3,"consumed_samples":24,"score":0.3,"seconds":0.1,"step":3,"validation":{"rec.ndcg@5":0.35}}
)");
  write_file(f.root / "full/identifiers.report.json",
             R"({"items": 40, "id_mode": "joint", "best_epoch": 5,
                 "levels": [{"level": "s_a", "codes": 8, "used": 6, "usage": 0.75, "perplexity": 5.1}],
                 "semantic": {"collision_rate_before": 0.2, "collision_rate_after_sinkhorn": 0.05,
                              "collision_rate_after": 0.0, "length": 3, "suffixed_items": 2},
                 "history": [{"epoch": 5, "collision": 0.2}], "warnings": ["codebook collapse: s_a"]})");
  // rec-only trained on full's identifiers (a sweep links them): the page lists the file once.
  fs::create_symlink("../full/identifiers.report.json", f.root / "rec-only/identifiers.report.json");
  // A run with counts but no per-case file: Wilson intervals for hit rates, none for the rest.
  write_file(f.root / "counts-only/metrics/gensar.json",
             R"({"candidates": {"rec.hr@10": 0.5, "rec.mrr": 0.3, "rec.count": 100}})");

  const std::string page = (f.root / "report.html").string();
  std::string out;
  ASSERT_EQ(run_report({f.root.string(), "--html", page, "--json", "--resamples", "500"}, &out), 0);
  const json report = json::parse(out);
  const json& rows = report["protocols"]["candidates"]["rows"];
  // 95% bootstrap interval of full's rec.hr@1 = 36/40 around 0.9 (binomial sd 0.047).
  const json& ci = rows[0]["ci"]["rec.hr@1"];
  EXPECT_GT(ci[0].get<double>(), 0.75);
  EXPECT_LT(ci[0].get<double>(), 0.9);
  EXPECT_GT(ci[1].get<double>(), 0.9);
  EXPECT_LE(ci[1].get<double>(), 1.0);
  EXPECT_FALSE(rows[0]["ci"].contains("search.hr@1"));  // its cases are rec only
  const json* counts = nullptr;
  for (const json& r : rows)
    if (r["system"] == "counts-only") counts = &r;
  ASSERT_NE(counts, nullptr);
  EXPECT_NEAR((*counts)["ci"]["rec.hr@10"][0].get<double>(), 0.4038, 1e-3);  // Wilson, n = 100
  EXPECT_NEAR((*counts)["ci"]["rec.hr@10"][1].get<double>(), 0.5962, 1e-3);
  EXPECT_FALSE((*counts)["ci"].contains("rec.mrr"));

  const std::string html = read_file(page);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // rec-only is worse than the reference at p < 0.01 on rec.hr@1: a doubled down mark.
  EXPECT_NE(html.find("<span class=\"down\">▼▼</span>"), std::string::npos);
  EXPECT_NE(html.find("training loss per task"), std::string::npos);
  EXPECT_NE(html.find("full/run/metrics.jsonl"), std::string::npos);
  // Validation points sit at the samples seen: from the step line (older runs) or their own field.
  EXPECT_NE(html.find("rec.ndcg@5: 0.3000 at 16"), std::string::npos);
  EXPECT_NE(html.find("rec.ndcg@5: 0.3500 at 24"), std::string::npos);
  EXPECT_NE(html.find("<h3>full, rec-only</h3>"), std::string::npos);  // one identifiers file
  EXPECT_NE(html.find("codebook collapse: s_a"), std::string::npos);
  size_t bar_charts = 0;
  for (size_t p = html.find("<svg class=\"chart bars\""); p != std::string::npos;
       p = html.find("<svg class=\"chart bars\"", p + 1))
    ++bar_charts;
  // candidates: rec.hr@1, rec.hr@10, rec.mrr, search.hr@1; full: rec.hr@10; identifiers: 3.
  EXPECT_EQ(bar_charts, 4u + 1u + 3u);

  // A broken step record names its file and line.
  write_file(f.root / "full/run/metrics.jsonl", "{\"consumed_samples\":8,\"loss\":5.0,\"step\":1}\n{oops\n");
  try {
    run_report({f.root.string(), "--html", page}, &out);
    ADD_FAILURE() << "no error for a malformed metrics.jsonl";
  } catch (const gensar::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("full/run/metrics.jsonl:2"), std::string::npos) << e.what();
  }
}
