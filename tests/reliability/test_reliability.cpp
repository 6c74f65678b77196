// Issue 9's fault probes as regression tests: every test injects one fault into real processes,
// files and MPI ranks and checks what docs/reliability.md promises for it.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "core/common/check.h"
#include "core/train/trainer.h"
#include "core/eval/validation.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/readers/json_file.h"
#include "distributed/checkpoint_io.h"
#include "distributed/process_mesh.h"
#include "distributed/stop_signal.h"
#include "launch/config.h"
#include "../train/train_fixture.h"

using namespace gensar;
using namespace gensar::train::testing;
namespace fs = std::filesystem;

namespace {

const std::string kGensar = GENSAR_EXE;
const std::string kMpirun =
    std::string(GENSAR_MPIEXEC) + " --allow-run-as-root --oversubscribe --bind-to none -np 2 ";

struct Proc {
  int status = -1;
  double seconds = 0;
  std::string output;
};

// Runs `command` through sh with stdout+stderr captured; a hard limit keeps a hang from hanging
// the suite (the hang then shows as status 137 and fails the test).
Proc run(const std::string& command, int limit_s = 120) {
  const std::string full = fmt::format("timeout -s KILL {} sh -c '{}' 2>&1", limit_s, command);
  auto start = std::chrono::steady_clock::now();
  Proc p;
  FILE* pipe = ::popen(full.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) p.output.append(buf, n);
  int st = ::pclose(pipe);
  p.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return p;
}

int count_matching(const fs::path& dir, const std::string& pattern) {
  int n = 0;
  std::regex re(pattern);
  for (const auto& e : fs::directory_iterator(dir))
    n += std::regex_match(e.path().filename().string(), re);
  return n;
}

void flip_byte(const std::string& path, double where = 0.5) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(f.tellg());
  const std::streamoff at = static_cast<std::streamoff>(size * where);
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c ^= 0x5a;
  f.seekp(at);
  f.write(&c, 1);
}

// A small lcrec-format source: 4 items, 3 users.
std::string write_lcrec(const std::string& dir, const std::string& title0, const std::string& inter) {
  fs::create_directories(dir);
  std::ofstream(dir + "/toy.item.json")
      << "{\"a\": {\"title\": \"" << title0 << "\"}, \"b\": {\"title\": \"blue pen\"},\n"
      << " \"c\": {\"title\": \"beaker\"}, \"d\": {\"title\": \"gloves\"}}\n";
  std::ofstream(dir + "/toy.inter.json") << inter;
  return dir + "/toy";
}
const char* kInter =
    "{\"u1\": [\"a\", \"b\", \"c\", \"d\"],\n \"u2\": [\"b\", \"c\", \"d\", \"a\"],\n"
    " \"u3\": [\"c\", \"d\", \"a\", \"b\"]}\n";

std::string train_args(const TinyRun& run, const std::string& out) {
  return fmt::format(
      "--dataset {} --identifiers {} --out {} --vocab-size 60 --batch-size 4 --history-rec 2 "
      "--history-search 2 --samples-per-task next_query=4,query_item=4,text_to_id=4,id_to_text=4 "
      "--threads 1 --warmup-ratio 0",
      run.dataset_dir, run.identifiers_path, out);
}

const TinyRun& shared_run() {
  static TinyRun run = make_tiny_run("reliability", {}, /*candidates=*/true);
  return run;
}

}  // namespace

// ---- 1. non-UTF-8 input, stale temporaries --------------------------------------------------

TEST(Ingest, NonUtf8TitleEndsEveryRankWithOneErrorNamingTheFileAndNoTemporary) {
  const std::string dir = temp_dir("utf8");
  const std::string input = write_lcrec(dir + "/src", "bad \xff title", kInter);
  const std::string out = dir + "/out";
  Proc mpi = run(kMpirun + kGensar + " ingest --format lcrec --candidates false --collective-timeout 20 "
                 "--input " + input + " --out " + out, 60);
  EXPECT_NE(mpi.status, 0) << mpi.output;
  EXPECT_LT(mpi.seconds, 40) << "ranks hung instead of ending: " << mpi.output;
  EXPECT_NE(mpi.output.find("toy.item.json"), std::string::npos) << mpi.output;
  EXPECT_EQ(mpi.output.find("type_error"), std::string::npos) << mpi.output;
  Proc alone = run(kGensar + " ingest --format lcrec --candidates false --input " + input + " --out " + out);
  EXPECT_EQ(alone.status, 2) << alone.output;
  EXPECT_NE(alone.output.find("toy.item.json:1"), std::string::npos) << alone.output;
  EXPECT_EQ(count_matching(dir, "out\\.tmp-.*"), 0);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Ingest, StaleTemporaryOfAKilledRunIsRemovedByTheNextRun) {
  const std::string dir = temp_dir("stale");
  const std::string input = write_lcrec(dir + "/src", "red pen", kInter);
  pid_t dead = ::fork();
  if (dead == 0) _exit(0);
  ::waitpid(dead, nullptr, 0);  // a process id that is certainly gone
  const fs::path stale = dir + "/out.tmp-" + std::to_string(dead);
  fs::create_directories(stale / "parts");
  Proc p = run(kGensar + " ingest --format lcrec --candidates false --input " + input + " --out " + dir + "/out");
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(dir + "/out/manifest.json"));
}

// ---- 6. values that parse wrong -------------------------------------------------------------

TEST(Inputs, DuplicateUserKeyIsRejectedWithFileAndLine) {
  const std::string dir = temp_dir("dupkey");
  write_lcrec(dir, "red pen", "{\"u1\": [\"a\", \"b\"],\n \"u2\": [\"b\", \"c\"],\n \"u1\": [\"c\", \"d\"]}\n");
  try {
    data::load_json_file(dir + "/toy.inter.json");
    FAIL() << "duplicate key accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("toy.inter.json:3: key 'u1' repeated (first at line 1)"),
              std::string::npos) << e.what();
  }
}

TEST(Inputs, BadBooleansBadNumbersAndOutOfRangeValuesNameFlagOrFileAndLine) {
  const launch::Verb* train = launch::find_verb("train");
  const std::string dir = temp_dir("config");
  auto resolve_with = [&](const std::string& ini, std::vector<std::string> flags = {}) -> std::string {
    const std::string path = dir + "/c.ini";
    std::ofstream(path) << ini;
    flags.insert(flags.end(), {"--config", path, "--dataset", "d", "--identifiers", "i", "--out", "o"});
    try {
      launch::resolve(*train, flags);
      return "accepted";
    } catch (const InputError& e) {
      return e.what();
    }
  };
  const std::string c = dir + "/c.ini";
  EXPECT_EQ(resolve_with("[train]\nresume = ture\n"),
            c + ":2: resume = 'ture': expected true or false (also yes/no, on/off, 1/0)");
  EXPECT_EQ(resolve_with("# x\n\nmax-steps = 12x\n").rfind(c + ":3: max-steps = '12x': ", 0), 0u);
  EXPECT_EQ(resolve_with("[train]\nbatch-size = 0\n"), c + ":2: batch-size = 0: 0 is below the minimum 1");
  EXPECT_EQ(resolve_with("[train]\nlr = nan\n"), c + ":2: lr = nan: nan is not a finite number");
  EXPECT_EQ(resolve_with("", {"--max-steps", "-5"}), "gensar train: --max-steps: -5 is below the minimum 0");
  EXPECT_NE(resolve_with("", {"--seed", "-1"}).find("seed"), std::string::npos);
  EXPECT_EQ(resolve_with("[train]\ndropout = 1.5\n"), c + ":2: dropout = 1.5: 1.5 is outside [0, 0.99]");
  EXPECT_EQ(resolve_with("[train]\nresume = off\nmax-steps = 3\n"), "accepted");
}

// ---- 5. checksums on open; resume falls back ------------------------------------------------

TEST(Checksums, FlippedByteInAShardOrItemsFileIsNamedWhenOpened) {
  const std::string dir = temp_dir("shardflip");
  const std::string ds_dir = make_dataset(dir);
  flip_byte(ds_dir + "/shard-00000.h5");
  data::Dataset ds(ds_dir);  // the shard is only read (and checked) when loaded
  try {
    ds.load_shard(0);
    FAIL() << "corrupt shard loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("shard-00000.h5: checksum"), std::string::npos) << e.what();
  }
  flip_byte(ds_dir + "/items.h5", 0.9);
  try {
    data::Dataset again(ds_dir);
    FAIL() << "corrupt items.h5 opened";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("items.h5: checksum"), std::string::npos) << e.what();
  }
}

TEST(Checksums, CorruptOrTruncatedCheckpointIsNamedAndResumeFallsBack) {
  const std::string root = temp_dir("ckflip") + "/checkpoints";
  dist::CheckpointWriter writer(root, dist::single_process_communicator(), 3);
  for (int step = 1; step <= 2; ++step) {
    writer.begin(step);
    writer.save_tensors("model-tp00-dp000.pt", {{"w", torch::full({1000}, float(step))}});
    writer.commit();
  }
  const std::string bad = root + "/step-2/model-tp00-dp000.pt";
  flip_byte(bad);
  try {
    dist::verify_checkpoint(root + "/step-2");
    FAIL() << "corrupt checkpoint verified";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ": checksum"), std::string::npos) << e.what();
  }
  auto latest = dist::find_latest_checkpoint(root);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 1);
  EXPECT_EQ(dist::load_tensors(latest->path + "/model-tp00-dp000.pt").at("w")[0].item<float>(), 1.0f);
  // A truncated archive (no checksum file to catch it first) names the file.
  const std::string cut = root + "/cut.pt";
  dist::save_tensors(cut, {{"w", torch::ones({1000})}});
  fs::resize_file(cut, fs::file_size(cut) / 2);
  try {
    dist::load_tensors(cut);
    FAIL() << "truncated archive loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(cut + ": not a readable tensor archive"), std::string::npos)
        << e.what();
  }
  // Every step corrupt: an error, not a silent fresh start over them.
  flip_byte(root + "/step-1/model-tp00-dp000.pt");
  EXPECT_THROW(dist::find_latest_checkpoint(root), InputError);
}

// ---- 2. NaN / inf -----------------------------------------------------------------------------

TEST(Divergence, NanLossStopsTheRunWithoutACheckpoint) {
  const TinyRun& r = shared_run();
  const std::string out = temp_dir("nan") + "/run";
  Proc p = run(kGensar + " train " + train_args(r, out) +
               " --lr 1e20 --clip 0 --max-steps 8 --valid-every -1 --save-every 0 --log-level warn");
  EXPECT_EQ(p.status, 1) << p.output;
  EXPECT_NE(p.output.find("is not finite"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("--skip-nonfinite"), std::string::npos) << p.output;
  EXPECT_FALSE(dist::find_latest_checkpoint(out + "/checkpoints").has_value());
  // With a skip budget the bad steps are skipped (logged) and the run still stops once it is spent.
  Proc skip = run(kGensar + " train " + train_args(r, out + "2") +
                  " --lr 1e20 --clip 0 --max-steps 8 --valid-every -1 --save-every 0 "
                  "--skip-nonfinite 2 --log-level info");
  EXPECT_EQ(skip.status, 1) << skip.output;
  EXPECT_NE(skip.output.find("skipping the update (2 of --skip-nonfinite 2)"), std::string::npos)
      << skip.output;
  EXPECT_FALSE(dist::find_latest_checkpoint(out + "2/checkpoints").has_value());
}

// ---- 3. disk full while checkpointing -------------------------------------------------------

TEST(DiskFull, EachCheckpointFileFailingLeavesThePreviousCheckpointResumable) {
  const TinyRun& r = shared_run();
  const fs::path mnt = temp_dir("tmpfs") + "/mnt";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=160m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "): needs root";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string out = (mnt / "run").string();
  const std::string args = train_args(r, out) + " --valid-every -1 --save-every 1 --lr 1e-3 --log-level warn";
  Proc first = run(kGensar + " train " + args + " --max-steps 1");
  ASSERT_EQ(first.status, 0) << first.output;
  // Room for part of one more checkpoint, so that the save of step 2 fails inside each of its
  // files in turn (in the order they are written; tmpfs counts whole 4 KiB pages), and last in the
  // `latest` marker written after the step directory is published.
  auto pages = [](uintmax_t n) { return (n + 4095) / 4096 * 4096; };
  const std::vector<std::string> order = {
      "model-tp00-dp000.pt", "optim-tp00-dp000.pt", "rng-tp00-dp000.pt", "state.json", "model.json",
      "config.ini", "prompts.txt", "tokenizer.model", "identifiers.h5", "checksums.json", "latest"};
  uintmax_t before = 0;
  for (const std::string& file : order) {
    SCOPED_TRACE(file);
    const fs::path sample = file == "latest" ? fs::path(out) / "checkpoints/latest"
                                             : fs::path(out) / "checkpoints/step-1" / file;
    ASSERT_TRUE(fs::exists(sample));
    const uintmax_t size = pages(fs::file_size(sample));
    const uintmax_t keep = before + size / 2;
    before += size;
    fs::remove_all(fs::path(out) / "checkpoints/step-2.tmp");  // what the next run does first
    const uintmax_t available = fs::space(mnt).available;
    ASSERT_GT(available, keep);
    {
      std::ofstream fill(mnt / "filler", std::ios::binary);
      std::string block(1 << 16, '\0');
      uintmax_t left = available - keep;
      for (; left >= block.size(); left -= block.size()) fill.write(block.data(), block.size());
      fill.write(block.data(), static_cast<std::streamsize>(left));
    }
    Proc full = run(kGensar + " train " + args + " --max-steps 2 --resume");
    fs::remove(mnt / "filler");
    EXPECT_NE(full.status, 0) << full.output;
    EXPECT_LT(full.status, 128) << "crashed instead of failing cleanly: " << full.output;
    EXPECT_NE(full.output.find("No space left on device"), std::string::npos) << full.output;
    EXPECT_EQ(full.output.find("Exception raised from"), std::string::npos) << full.output;  // no torch backtrace
    auto latest = dist::find_latest_checkpoint(out + "/checkpoints");
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->step, 1);
    EXPECT_NO_THROW(dist::verify_checkpoint(latest->path));
  }
  Proc resumed = run(kGensar + " train " + args + " --max-steps 2 --resume");
  EXPECT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(dist::find_latest_checkpoint(out + "/checkpoints")->step, 2);
}

// ---- 4. SIGTERM to the launcher ---------------------------------------------------------------

TEST(Stop, SigtermToTheLauncherCheckpointsAndExits75) {
  const TinyRun& r = shared_run();
  const std::string out = temp_dir("sigterm") + "/run";
  const std::string launcher = std::string(GENSAR_SOURCE_DIR) + "/cluster/gensar-mpirun";
  // Start 2 ranks, wait for the first logged step, then SIGTERM the launcher (what kill/scancel do).
  Proc p = run(fmt::format(
      "MPIRUN={} {} --allow-run-as-root --oversubscribe --bind-to none -np 2 {} train {} "
      "--max-steps 100000 --valid-every -1 & pid=$!; "
      "for i in $(seq 600); do [ -s {}/metrics.jsonl ] && break; sleep 0.1; done; "
      "kill -TERM $pid; wait $pid",
      GENSAR_MPIEXEC, launcher, kGensar, train_args(r, out), out), 180);
  EXPECT_EQ(p.status, 75) << p.output;
  auto latest = dist::find_latest_checkpoint(out + "/checkpoints");
  ASSERT_TRUE(latest.has_value()) << p.output;
  EXPECT_GE(latest->step, 1);
}

// ---- 8. a stop request in every phase --------------------------------------------------------

// Phases without a step boundary (tokenizer training, sample building, evaluation) run inside a
// StopExitsScope: a signal ends the process within a bounded time with 75, whatever the phase's
// code is doing (here: sleeping 30 s).
TEST(Stop, SignalDuringAPhaseWithNothingToSaveExits75Promptly) {
  for (int sig : {SIGTERM, SIGUSR1}) {
    pid_t child = ::fork();
    if (child == 0) {
      dist::install_stop_signal_handlers();
      dist::StopExitsScope scope("a long phase");
      ::kill(::getpid(), sig);
      ::sleep(30);
      _exit(0);
    }
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    ::waitpid(child, &status, 0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), dist::kExitRequeue);
    EXPECT_LT(s, 2.0);
  }
}

TEST(Stop, SignalDuringValidationSavesTheStepWithoutAScore) {
  torch::set_num_threads(1);
  const TinyRun& r = shared_run();
  auto candidates = std::make_shared<data::EvalCandidates>(data::load_eval_candidates(r.dataset_dir));
  auto config = tiny_model_config(*r.pieces.tokenizer, 0.0);
  model::T5Model model(config, nullptr, 5);
  // The validation itself stops before its first batch once the flag is up.
  dist::request_stop();
  eval::ValidationOptions vo;
  vo.beams = 4;
  train::ValidationResult vr = eval::validate(model, *r.pieces.builder, candidates.get(), vo, nullptr);
  EXPECT_TRUE(vr.stopped);
  EXPECT_EQ(vr.metrics["rec.count"], 0);
  // In the trainer: step 1, then the validation is cut short -> checkpoint of step 1, exit status
  // "stop requested", no validation line and no `best`.
  train::TrainerOptions o;
  o.out = temp_dir("stopvalid") + "/run";
  o.progress = false;
  o.warmup_ratio = 0.0;
  o.batch_size = 4;
  o.max_steps = 10;
  o.valid_every = 1;
  o.checkpoint_files = {{"config.ini", "dataset = x\n"}};
  auto mesh = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});
  train::Trainer trainer(o, r.pieces.builder, model, mesh,
                         eval::validation_hook(model, r.pieces.builder, candidates, vo, mesh->dp()));
  const train::TrainStatus status = trainer.run();
  dist::clear_stop_request();
  EXPECT_EQ(status, train::TrainStatus::kStopRequested);
  EXPECT_EQ(trainer.step(), 1);
  auto latest = dist::find_latest_checkpoint(o.out + "/checkpoints");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 1);
  EXPECT_FALSE(dist::find_best_checkpoint(o.out + "/checkpoints").has_value());
  std::ifstream metrics(o.out + "/metrics.jsonl");
  std::string text((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("validation"), std::string::npos);
}
