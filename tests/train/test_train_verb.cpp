// `gensar train` through the verb table, in process: options resolve, a short run writes the
// resolved config, per-step metrics and checkpoints (best + latest), `--resume` continues from the
// latest checkpoint to a later --max-steps, and the run loads back through run_loader.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/train/run_loader.h"
#include "distributed/checkpoint_io.h"
#include "launch/config.h"
#include "launch/verbs.h"
#include "train_fixture.h"

using namespace gensar;
using namespace gensar::train::testing;

namespace {

int count_step_lines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.find("\"loss\"") != std::string::npos;  // step lines
  return n;
}

}  // namespace

TEST(TrainVerb, TrainsValidatesCheckpointsAndResumes) {
  TinyRun run = make_tiny_run("verb", {}, /*candidates=*/true);
  const launch::Verb* verb = launch::find_verb("train");
  ASSERT_NE(verb, nullptr);
  const std::string out = run.dir + "/run";
  std::vector<std::string> args = {
      "--dataset", run.dataset_dir, "--identifiers", run.identifiers_path, "--out", out,
      "--vocab-size", "60", "--max-steps", "4", "--batch-size", "4", "--valid-every", "2",
      "--valid-cases", "3", "--beams", "4", "--history-rec", "2", "--history-search", "2",
      "--samples-per-task", "next_query=4,query_item=4,text_to_id=4,id_to_text=4", "--threads", "1"};
  EXPECT_EQ(verb->run(launch::resolve(*verb, args)), 0);
  EXPECT_EQ(count_step_lines(out + "/metrics.jsonl"), 4);
  std::ifstream config(out + "/config.ini");
  std::string text((std::istreambuf_iterator<char>(config)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("max-steps"), std::string::npos);
  auto latest = dist::find_latest_checkpoint(out + "/checkpoints");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 4);
  EXPECT_TRUE(dist::find_best_checkpoint(out + "/checkpoints").has_value());

  args[9] = "6";  // --max-steps 6
  args.push_back("--resume");
  EXPECT_EQ(verb->run(launch::resolve(*verb, args)), 0);
  EXPECT_EQ(count_step_lines(out + "/metrics.jsonl"), 6);
  EXPECT_EQ(dist::find_latest_checkpoint(out + "/checkpoints")->step, 6);

  train::RunLoadOptions lo;
  lo.which = "latest";
  train::LoadedRun loaded = train::load_run(out, lo);
  EXPECT_EQ(loaded.step, 6);
  EXPECT_EQ(loaded.builder->options().history_rec, 2);
  EXPECT_EQ(loaded.dataset->dir(), run.dataset_dir);
}
