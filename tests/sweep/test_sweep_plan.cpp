// Sweep files (good and bad), the plan's sharing of identical stages, dry-run and Slurm output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/common/check.h"
#include "launch/config.h"
#include "launch/sweep_plan.h"

namespace fs = std::filesystem;
using namespace gensar::launch;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("gensar_sweep_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

// The message of the InputError read_sweep_file throws, "" if none.
std::string sweep_error(const std::string& text) {
  const fs::path dir = temp_dir("bad");
  const std::string path = write_file(dir / "bad.sweep", text);
  try {
    read_sweep_file(path);
  } catch (const gensar::InputError& e) {
    return e.what();
  }
  return "";
}

const char* kBase =
    "# base config of the tests\n"
    "[ingest]\nformat = lcrec\ninput = /nonexistent/Scientific\nseed = 5\n"
    "[index]\nepochs = 3\n"
    "[train]\nepochs = 2\nbatch-size = 8\n";

const char* kSweep =
    "# the ablations\n"
    "[full]\n"
    "description = everything\n"
    "\n"
    "[rec-only]\n"
    "train.tasks = rec,text_to_id,id_to_text\n"
    "[semantic-only-ids]\n"
    "index.id-mode = semantic-only\n"
    "[other-split]\n"
    "ingest.seed = 6\n";

const std::vector<std::string> kStages = {"ingest", "embed-text", "embed-collab", "index", "train"};

int owner(const SweepPlan& plan, int v, const std::string& stage) {
  for (const PlannedStage& p : plan.stages[v])
    if (p.stage == stage) return p.owner;
  ADD_FAILURE() << "no stage " << stage;
  return -1;
}

std::string capture_stdout(const std::function<int()>& fn, int* rc) {
  std::ostringstream captured;
  struct Restore {  // also when fn throws
    std::streambuf* old;
    ~Restore() { std::cout.rdbuf(old); }
  } restore{std::cout.rdbuf(captured.rdbuf())};
  *rc = fn();
  return captured.str();
}

}  // namespace

TEST(SweepFile, ParsesVariantsInOrder) {
  const fs::path dir = temp_dir("parse");
  const auto variants = read_sweep_file(write_file(dir / "a.sweep", std::string(kSweep) +
                                                                        "[seeded]\nseed = 9\n"));
  ASSERT_EQ(variants.size(), 5u);
  EXPECT_EQ(variants[0].name, "full");
  EXPECT_EQ(variants[0].description, "everything");
  EXPECT_TRUE(variants[0].overrides.empty());
  EXPECT_EQ(variants[1].name, "rec-only");
  ASSERT_EQ(variants[1].overrides.size(), 1u);
  EXPECT_EQ(variants[1].overrides[0].verb, "train");
  EXPECT_EQ(variants[1].overrides[0].key, "tasks");
  EXPECT_EQ(variants[1].overrides[0].value, "rec,text_to_id,id_to_text");
  EXPECT_EQ(variants[1].overrides[0].line, 6);
  EXPECT_EQ(variants[2].overrides[0].verb, "index");
  EXPECT_EQ(variants[4].overrides[0].verb, "");  // top level: every verb with --seed
  EXPECT_EQ(variants[4].overrides[0].key, "seed");
}

TEST(SweepFile, ErrorsNameFileAndLine) {
  EXPECT_NE(sweep_error("[a]\nnosuchverb.lr = 1\n").find("bad.sweep:2: unknown verb 'nosuchverb'"),
            std::string::npos);
  EXPECT_NE(sweep_error("[a]\n\ntrain.no-such-key = 1\n").find("bad.sweep:3: verb train has no option"),
            std::string::npos);
  EXPECT_NE(sweep_error("train.lr = 1\n[a]\n").find("bad.sweep:1:"), std::string::npos);
  EXPECT_NE(sweep_error("[a]\n[b]\n[a]\n").find("bad.sweep:3: variant [a] defined twice"),
            std::string::npos);
  EXPECT_NE(sweep_error("[a]\ntrain.lr = 1\ntrain.lr = 2\n").find("bad.sweep:3: 'train.lr' set twice"),
            std::string::npos);
  EXPECT_NE(sweep_error("[a]\ntrain.out = x\n").find("bad.sweep:2: train.out is set by the pipeline"),
            std::string::npos);
  EXPECT_NE(sweep_error("[a/b]\n").find("bad.sweep:1: variant name 'a/b'"), std::string::npos);
  EXPECT_NE(sweep_error("[a]\ntrain.lr 1\n").find("bad.sweep:2: expected"), std::string::npos);
  EXPECT_NE(sweep_error("[a]\nno-verb-has-this = 1\n").find("bad.sweep:2: unknown key"),
            std::string::npos);
  EXPECT_NE(sweep_error("# nothing\n").find("no [variant] sections"), std::string::npos);
  EXPECT_EQ(sweep_error(kSweep), "");
}

TEST(SweepPlan, SharesStagesWithTheSameResolvedConfig) {
  const fs::path dir = temp_dir("plan");
  const std::string base = write_file(dir / "base.ini", kBase);
  const auto variants = read_sweep_file(write_file(dir / "s.sweep", kSweep));
  const SweepPlan plan = build_sweep_plan(variants, base, (dir / "runs").string(), kStages);
  ASSERT_EQ(plan.stages.size(), 4u);
  for (int v = 0; v < 4; ++v) ASSERT_EQ(plan.stages[v].size(), kStages.size());

  // rec-only changes training only: everything upstream comes from "full".
  for (const std::string s : {"ingest", "embed-text", "embed-collab", "index"})
    EXPECT_EQ(owner(plan, 1, s), 0) << s;
  EXPECT_EQ(owner(plan, 1, "train"), 1);
  // semantic-only ids changes the index, hence training too.
  for (const std::string s : {"ingest", "embed-text", "embed-collab"}) EXPECT_EQ(owner(plan, 2, s), 0);
  EXPECT_EQ(owner(plan, 2, "index"), 2);
  EXPECT_EQ(owner(plan, 2, "train"), 2);
  // A different ingest seed changes every stage downstream.
  for (const std::string& s : kStages) EXPECT_EQ(owner(plan, 3, s), 3) << s;

  // Identities ignore the workdir; stamps (what `gensar pipeline` checks) do not.
  EXPECT_EQ(plan.stages[0][0].identity, plan.stages[1][0].identity);
  EXPECT_NE(plan.stages[0][0].stamp, plan.stages[1][0].stamp);
  EXPECT_NE(plan.stages[0][0].identity, plan.stages[3][0].identity);
  EXPECT_TRUE(plan.shared(1, 0));
  EXPECT_FALSE(plan.shared(1, 4));

  // Each variant's merged config holds the base values and its overrides.
  const IniFile merged = read_ini(plan.config_paths[1]);
  EXPECT_EQ(merged.at("train").at("tasks").value, "rec,text_to_id,id_to_text");
  EXPECT_EQ(merged.at("train").at("batch-size").value, "8");
  EXPECT_EQ(merged.at("ingest").at("seed").value, "5");
  EXPECT_EQ(read_ini(plan.config_paths[3]).at("ingest").at("seed").value, "6");
  EXPECT_EQ(plan.workdirs[1], (fs::absolute(dir / "runs") / "rec-only").lexically_normal().string());

  // Building the plan again gives the same hashes (nothing depends on time or order of files).
  const SweepPlan again = build_sweep_plan(variants, base, (dir / "runs").string(), kStages);
  for (int v = 0; v < 4; ++v)
    for (size_t s = 0; s < kStages.size(); ++s) {
      EXPECT_EQ(plan.stages[v][s].identity, again.stages[v][s].identity);
      EXPECT_EQ(plan.stages[v][s].stamp, again.stages[v][s].stamp);
    }
}

TEST(SweepPlan, StageProductsAreTheFilesAStageWrites) {
  EXPECT_EQ(stage_products("ingest"), std::vector<std::string>{"dataset"});
  EXPECT_EQ(stage_products("embed-collab"),
            (std::vector<std::string>{"sasrec.pt", "collab_embeddings.h5"}));
  EXPECT_EQ(stage_products("index"), std::vector<std::string>{"identifiers.h5"});
  EXPECT_EQ(stage_products("train"), std::vector<std::string>{"run"});
  // eval --out names a directory (metrics.json + cases.jsonl inside).
  EXPECT_EQ(stage_products("baseline-bm25"), std::vector<std::string>{"metrics/bm25"});
}

TEST(SweepVerb, DryRunPrintsThePlan) {
  const fs::path dir = temp_dir("dry");
  const std::string base = write_file(dir / "base.ini", kBase);
  const std::string sweep = write_file(dir / "s.sweep", kSweep);
  const Verb* verb = find_verb("sweep");
  ASSERT_NE(verb, nullptr);
  const std::string runs = (dir / "runs").string();
  int rc = -1;
  const std::string out = capture_stdout(
      [&] {
        return verb->run(resolve(*verb, {"--config", base, "--sweep", sweep, "--workdir", runs,
                                         "--stages", "ingest,embed-text,embed-collab,index,train",
                                         "--only", "full,rec-only", "--dry-run"}));
      },
      &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("variant full"), std::string::npos) << out;
  EXPECT_NE(out.find("variant rec-only"), std::string::npos) << out;
  EXPECT_EQ(out.find("variant semantic-only-ids"), std::string::npos) << out;
  EXPECT_NE(out.find("override train.tasks = rec,text_to_id,id_to_text"), std::string::npos) << out;
  EXPECT_NE(out.find("reuse full"), std::string::npos) << out;
  // full runs 5 stages; rec-only reuses 4 and runs its training.
  EXPECT_NE(out.find("6 stage runs, 4 reused from another variant, 0 up to date"), std::string::npos)
      << out;
  // Nothing ran: no stamps, no outputs; only the variants' configs were written.
  EXPECT_FALSE(fs::exists(fs::path(runs) / "full" / ".stamps"));
  EXPECT_TRUE(fs::exists(fs::path(runs) / "full" / "sweep-config.ini"));
}

TEST(SweepVerb, SlurmArrayWritesASubmitScript) {
  const fs::path dir = temp_dir("slurm");
  const std::string base = write_file(dir / "base.ini", kBase);
  const std::string sweep = write_file(dir / "s.sweep", kSweep);
  const Verb* verb = find_verb("sweep");
  const std::string runs = (dir / "runs").string();
  int rc = -1;
  capture_stdout(
      [&] {
        return verb->run(resolve(*verb, {"--config", base, "--sweep", sweep, "--workdir", runs,
                                         "--stages", "ingest,embed-text,embed-collab,index,train",
                                         "--slurm-array"}));
      },
      &rc);
  EXPECT_EQ(rc, 0);
  std::ifstream script(fs::path(runs) / "submit-sweep.sh");
  std::stringstream ss;
  ss << script.rdbuf();
  EXPECT_NE(ss.str().find("--shared-only"), std::string::npos);
  EXPECT_NE(ss.str().find("--array=0-3"), std::string::npos);
  EXPECT_NE(ss.str().find("cluster/sweep.sbatch"), std::string::npos);
  std::ifstream list(fs::path(runs) / "sweep-configs.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(list, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], (fs::absolute(runs) / "semantic-only-ids" / "sweep-config.ini")
                          .lexically_normal()
                          .string());
}

TEST(SweepPlan, TheShippedAblationSweep) {
  const std::string sweep = std::string(GENSAR_SOURCE_DIR) + "/configs/sweep-ablations.ini";
  const auto variants = read_sweep_file(sweep);
  std::vector<std::string> names;
  for (const auto& v : variants) names.push_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"gensar-full", "gensar-full-seed2", "rec-only",
                                             "search-only", "semantic-only-ids", "collab-only-ids",
                                             "no-shared-levels", "no-task-prompts"}));
  // The measured sweep's base (docs/results.md) and the plain Scientific config.
  for (const std::string base_name : {"ablations-scientific.ini", "scientific.ini"}) {
    const std::string base = std::string(GENSAR_SOURCE_DIR) + "/configs/" + base_name;
    const fs::path dir = temp_dir("ablations");
    const SweepPlan plan = build_sweep_plan(variants, base, (dir / "runs").string(), kStages);
    for (int v = 1; v < static_cast<int>(names.size()); ++v) {
      for (const std::string s : {"ingest", "embed-text", "embed-collab"})
        EXPECT_EQ(owner(plan, v, s), 0) << base_name << " " << names[v] << " " << s;
      EXPECT_EQ(owner(plan, v, "train"), v) << base_name << " " << names[v];
      const bool own_index =
          names[v].find("ids") != std::string::npos || names[v] == "no-shared-levels";
      EXPECT_EQ(owner(plan, v, "index"), own_index ? v : 0) << base_name << " " << names[v];
    }
  }
}

// A real (tiny) run: ingest a synthetic log and embed its items in two variants that differ only in
// the embedding seed. Ingest runs once and is linked; the stamps make a second sweep run nothing.
TEST(SweepVerb, RunsSharedStagesOnceAndLinksThem) {
  const fs::path dir = temp_dir("run");
  const std::string base = write_file(
      dir / "base.ini",
      "[ingest]\nformat = synthetic\ninput = users=60,items=40,seed=3\nnegatives = 9\n"
      "[embed-text]\nencoder = tfidf-svd\ndim = 8\n");
  const std::string sweep =
      write_file(dir / "s.sweep", "[a]\n[b]\nembed-text.seed = 43\n");
  const Verb* verb = find_verb("sweep");
  const std::string runs = (dir / "runs").string();
  const std::vector<std::string> args = {"--config", base, "--sweep", sweep, "--workdir", runs,
                                         "--stages", "ingest,embed-text"};
  int rc = -1;
  capture_stdout([&] { return verb->run(resolve(*verb, args)); }, &rc);
  ASSERT_EQ(rc, 0);
  const fs::path a = fs::path(runs) / "a", b = fs::path(runs) / "b";
  EXPECT_TRUE(fs::exists(a / "dataset" / "manifest.json"));
  EXPECT_FALSE(fs::is_symlink(a / "dataset"));
  ASSERT_TRUE(fs::is_symlink(b / "dataset"));
  EXPECT_EQ(fs::read_symlink(b / "dataset"), fs::path("../a/dataset"));
  EXPECT_TRUE(fs::exists(b / "dataset" / "manifest.json"));
  // b's embeddings are its own (another seed), computed from the linked dataset.
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(b / "text_embeddings.h5")));
  EXPECT_TRUE(fs::is_regular_file(a / "text_embeddings.h5"));

  // Stamps are the plan's (the ones `gensar pipeline` computes), so everything is now up to date.
  const SweepPlan plan =
      build_sweep_plan(read_sweep_file(sweep), base, runs, {"ingest", "embed-text"});
  for (int v = 0; v < 2; ++v)
    for (const PlannedStage& p : plan.stages[v])
      EXPECT_TRUE(stage_is_fresh(plan.workdirs[v], p.stage, p.stamp)) << v << " " << p.stage;
  const auto manifest_time = fs::last_write_time(a / "dataset" / "manifest.json");
  std::vector<std::string> dry = args;
  dry.push_back("--dry-run");
  const std::string out = capture_stdout([&] { return verb->run(resolve(*verb, dry)); }, &rc);
  EXPECT_NE(out.find("0 stage runs, 1 reused from another variant, 3 up to date"), std::string::npos)
      << out;
  capture_stdout([&] { return verb->run(resolve(*verb, args)); }, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(fs::last_write_time(a / "dataset" / "manifest.json"), manifest_time);
}
