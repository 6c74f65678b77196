// A rank that dies or stalls must end the whole job, non-zero, within the collective timeout,
// instead of leaving the others blocked forever. Runs mpirun itself so it can time the job.
#include "distributed/checkpoint_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

namespace {

struct JobResult {
  int exit_status;
  double seconds;
};

JobResult run_job(const std::string& mode, double timeout_s, const std::string& extra = "") {
  std::string command = std::string(GENSAR_MPIEXEC) +
                        " --allow-run-as-root --oversubscribe --bind-to none -np 2 " +
                        GENSAR_FAULT_DRIVER + " " + mode + " " + std::to_string(timeout_s) + " " +
                        extra + " > /dev/null 2>&1";
  auto start = std::chrono::steady_clock::now();
  int status = std::system(command.c_str());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {exit_status, seconds};
}

TEST(FaultTolerance, KilledRankEndsTheJobWithinTheTimeout) {
  JobResult job = run_job("die", 3.0);
  EXPECT_NE(job.exit_status, 0);
  // mpirun notices the dead rank itself; either way the survivor must not outlive the timeout
  // by much (start-up of two ranks with LibTorch takes a few seconds on this machine).
  EXPECT_LT(job.seconds, 30.0);
}

TEST(FaultTolerance, StalledRankMakesTheOthersAbortAfterTheTimeout) {
  JobResult job = run_job("stall", 3.0);
  EXPECT_NE(job.exit_status, 0);
  // Only the watchdog can end this job: the stalled rank is alive and would sleep 600 s.
  EXPECT_GE(job.seconds, 3.0);
  EXPECT_LT(job.seconds, 30.0);
}

TEST(FaultTolerance, RankDyingDuringASaveLeavesTheLastCheckpointIntact) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gensar-fault-ckpt-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  JobResult job = run_job("die-during-save", 3.0, dir.string());
  EXPECT_NE(job.exit_status, 0);
  EXPECT_LT(job.seconds, 30.0);
  auto latest = gensar::dist::find_latest_checkpoint(dir.string());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 1);
  EXPECT_TRUE(fs::is_directory(dir / "step-2.tmp"));  // the interrupted save, ignored by readers
  auto shard = gensar::dist::load_tensors((fs::path(latest->path) / "model-tp00-dp001.pt").string());
  EXPECT_EQ(shard.at("w")[0].item<float>(), 1.0f);
  fs::remove_all(dir);
}

}  // namespace
