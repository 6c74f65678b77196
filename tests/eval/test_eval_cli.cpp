// The eval / recommend / search verbs end to end on a tiny trained run (a few trainer steps on the
// tiny joint log): the verb's JSON equals evaluate() on the loaded run, files land where documented,
// baselines run from the CLI, batch inference writes one JSON line per request, bad users fail.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/evaluator.h"
#include "core/train/run_loader.h"
#include "core/train/trainer.h"
#include "distributed/process_mesh.h"
#include "launch/config.h"
#include "tests/train/train_fixture.h"

namespace gensar::train {
using namespace ::gensar::eval;
namespace {

namespace fs = std::filesystem;

struct TrainedRun {
  testing::TinyRun tiny;
  std::string run_dir;
};

TrainedRun train_tiny_run(const std::string& name) {
  torch::set_num_threads(1);
  TrainedRun r;
  r.tiny = testing::make_tiny_run(name, {}, /*candidates=*/true);
  model::T5Model model(testing::tiny_model_config(*r.tiny.pieces.tokenizer, 0.0), nullptr, 5);
  TrainerOptions o;
  o.out = r.run_dir = r.tiny.dir + "/run";
  o.progress = false;
  o.valid_every = -1;
  o.max_steps = 3;
  o.batch_size = 16;
  o.checkpoint_files = {{"config.ini", "dataset = " + r.tiny.dataset_dir + "\n"}};
  o.mix.enable_only("rec,search");
  auto mesh = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});
  Trainer trainer(o, r.tiny.pieces.builder, model, mesh);
  EXPECT_EQ(trainer.run(), TrainStatus::kFinished);
  return r;
}

int run_verb(const std::string& name, const std::vector<std::string>& args, std::string* out) {
  const launch::Verb* verb = launch::find_verb(name);
  EXPECT_NE(verb, nullptr) << name;
  auto vm = launch::resolve(*verb, args);
  ::testing::internal::CaptureStdout();
  int rc = -1;
  try {
    rc = verb->run(vm);
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  *out = ::testing::internal::GetCapturedStdout();
  return rc;
}

TEST(EvalCli, EvalJsonEqualsEvaluateAndWritesFiles) {
  TrainedRun r = train_tiny_run("cli-eval");
  std::string out;
  ASSERT_EQ(run_verb("eval", {"--run", r.run_dir, "--which", "latest", "--protocol", "both",
                              "--beams", "5", "--json"}, &out), 0);
  const auto j = nlohmann::json::parse(out);
  ASSERT_TRUE(j.contains("candidates") && j.contains("full"));
  EXPECT_TRUE(j["full"].contains("search.ndcg@10"));

  RunLoadOptions lo;
  lo.which = "latest";
  LoadedRun loaded = load_run(r.run_dir, lo);
  auto candidates = data::load_eval_candidates(loaded.dataset->dir());
  EvalOptions o;
  o.protocols = {Protocol::kCandidates, Protocol::kFull};
  o.beams = 5;
  EvalResult direct = evaluate(*loaded.scorer, *loaded.builder, &candidates, o, nullptr);
  for (const auto& [protocol, metrics] : direct.metrics)
    for (const auto& [key, value] : metrics) EXPECT_DOUBLE_EQ(j[protocol][key].get<double>(), value) << key;

  const std::string eval_dir = r.run_dir + "/eval/test";
  EXPECT_TRUE(fs::exists(eval_dir + "/metrics.json"));
  EXPECT_TRUE(fs::exists(r.run_dir + "/metrics.json"));
  EXPECT_EQ(eval::read_run_case_records(eval_dir).size(), direct.records.size());

  // The table form names every metric; bad options are input errors.
  ASSERT_EQ(run_verb("eval", {"--run", r.run_dir, "--which", "latest", "--beams", "5",
                              "--max-cases", "2", "--split", "valid"}, &out), 0);
  EXPECT_NE(out.find("hr@20"), std::string::npos);
  EXPECT_THROW(run_verb("eval", {"--run", r.run_dir, "--protocol", "sideways"}, &out), InputError);
  EXPECT_THROW(run_verb("eval", {"--beams", "5"}, &out), InputError);

  // Level weights reach the beam search of their task only; bad ones are input errors that name
  // the flag.
  ASSERT_EQ(run_verb("eval", {"--run", r.run_dir, "--which", "latest", "--beams", "5", "--json",
                              "--rec-level-weights", "1.5, 2"}, &out), 0);
  const auto weighted_json = nlohmann::json::parse(out);
  o.protocols = {Protocol::kCandidates};
  o.level_weights[data::Task::kRec] = {1.5, 2.0};
  EvalResult weighted = evaluate(*loaded.scorer, *loaded.builder, &candidates, o, nullptr);
  for (const auto& [key, value] : weighted.metrics.at("candidates"))
    EXPECT_DOUBLE_EQ(weighted_json["candidates"][key].get<double>(), value) << key;
  EXPECT_DOUBLE_EQ(weighted.metrics.at("candidates").at("search.mrr"),
                   direct.metrics.at("candidates").at("search.mrr"));
  // The tiny run's metrics saturate, so the sequence scores show where the weights went: the
  // verb's written rec scores are the weighted ones, search's are the plain ones.
  std::map<std::string, std::vector<double>> plain_scores;
  for (const CaseRecord& c : direct.records) plain_scores[c.group() + c.case_id] = c.scores;
  std::map<std::string, std::vector<double>> weighted_scores;
  for (const CaseRecord& c : weighted.records) weighted_scores[c.group() + c.case_id] = c.scores;
  int rec_moved = 0;
  for (const CaseRecord& c : eval::read_run_case_records(eval_dir)) {
    const std::vector<double>& w = weighted_scores.at(c.group() + c.case_id);
    ASSERT_EQ(c.scores.size(), w.size());
    for (size_t k = 0; k < w.size(); ++k) EXPECT_NEAR(c.scores[k], w[k], 1e-6 * (1 + std::abs(w[k])));
    if (c.task == "search") EXPECT_EQ(w, plain_scores.at(c.group() + c.case_id));
    if (c.task == "rec" && w != plain_scores.at(c.group() + c.case_id)) ++rec_moved;
  }
  EXPECT_GT(rec_moved, 0);
  for (const std::string bad : {"1, 0", "x", "1.5abc", "-1"}) {
    try {
      run_verb("eval", {"--run", r.run_dir, "--which", "latest", "--search-level-weights", bad}, &out);
      ADD_FAILURE() << "accepted --search-level-weights '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--search-level-weights"), std::string::npos) << e.what();
    }
  }
}

TEST(EvalCli, BaselinesFromTheCommandLine) {
  auto tiny = testing::make_tiny_run("cli-baselines", {}, /*candidates=*/true);
  std::string out;
  const std::string dir = tiny.dir + "/bm25";
  ASSERT_EQ(run_verb("eval", {"--baseline", "bm25", "--dataset", tiny.dataset_dir, "--protocol",
                              "both", "--json", "--out", dir}, &out), 0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_DOUBLE_EQ(j["full"]["search.hr@1"].get<double>(), 1.0);
  EXPECT_FALSE(j["full"].contains("rec.hr@1"));  // bm25 ranks search cases only
  EXPECT_TRUE(fs::exists(dir + "/cases.jsonl"));
  ASSERT_EQ(run_verb("eval", {"--baseline", "popularity", "--dataset", tiny.dataset_dir, "--json"}, &out), 0);
  EXPECT_TRUE(nlohmann::json::parse(out)["candidates"].contains("rec.mrr"));
  EXPECT_THROW(run_verb("eval", {"--baseline", "sasrec", "--dataset", tiny.dataset_dir}, &out),
               InputError);  // no model file
}

TEST(EvalCli, RecommendAndSearchSingleAndBatch) {
  TrainedRun r = train_tiny_run("cli-infer");
  std::string out;
  ASSERT_EQ(run_verb("recommend", {"--run", r.run_dir, "--which", "latest", "--user", "u2", "--k", "3"}, &out), 0);
  EXPECT_NE(out.find("rank"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4);  // header + 3 items
  ASSERT_EQ(run_verb("search", {"--run", r.run_dir, "--which", "latest", "--user", "-", "--query",
                                "glass beaker", "--k", "2", "--json"}, &out), 0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["query"], "glass beaker");
  EXPECT_EQ(j["items"].size(), 2u);

  const std::string batch = r.tiny.dir + "/requests.tsv", result = r.tiny.dir + "/results.jsonl";
  {
    std::ofstream f(batch);
    f << "u0\tred pen\nu5\tcaliper\n-\tgloves\n";
  }
  ASSERT_EQ(run_verb("search", {"--run", r.run_dir, "--which", "latest", "--batch", batch,
                                "--output", result, "--k", "4"}, &out), 0);
  std::ifstream in(result);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto e = nlohmann::json::parse(line);
    EXPECT_EQ(e["items"].size(), 4u);
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  EXPECT_THROW(run_verb("recommend", {"--run", r.run_dir, "--which", "latest", "--user", "ghost"}, &out),
               InputError);
  EXPECT_THROW(run_verb("search", {"--run", r.run_dir, "--which", "latest", "--user", "u1"}, &out),
               InputError);  // no query
}

}  // namespace
}  // namespace gensar::train
