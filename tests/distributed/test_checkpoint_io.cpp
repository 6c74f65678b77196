// Sharded checkpoint directories: every rank's shard lands in step-N, `latest` moves atomically,
// a save that dies before the rename leaves the previous checkpoint in charge, pruning keeps the
// last K plus the best. Runs under mpirun -np 2.
#include "distributed/checkpoint_io.h"
#include "core/common/check.h"
#include "distributed/communicator.h"
#include "distributed/watchdog.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

namespace gensar::dist {
namespace {
namespace fs = std::filesystem;

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    set_collective_timeout(60);
    comm = world();
    r = comm->rank();
    n = comm->size();
    // One directory shared by the ranks: rank 0 picks it, everyone learns it.
    std::string name;
    if (r == 0) {
      name = (fs::temp_directory_path() /
              fmt::format("gensar-ckpt-{}-{}", ::getpid(),
                          ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                 .string();
      fs::remove_all(name);
    }
    root = comm->broadcast_bytes(name, 0);
  }
  void TearDown() override {
    comm->barrier();
    if (r == 0) fs::remove_all(root);
  }
  TensorMap shard(int64_t step) const {
    return {{"weight", torch::full({3, 2}, static_cast<float>(step * 10 + r))},
            {"step", torch::tensor({step}, torch::kLong)}};
  }
  void save(CheckpointWriter& writer, int64_t step, std::optional<double> metric = std::nullopt) {
    writer.begin(step);
    writer.save_tensors(shard_file_name("model", /*tp=*/0, /*dp=*/r), shard(step));
    if (r == 0) writer.save_json("meta.json", {{"step", step}, {"consumed_samples", step * 64}});
    writer.commit(metric, /*higher_is_better=*/true);
  }
  std::shared_ptr<Communicator> comm;
  int r = 0, n = 1;
  std::string root;
};

TEST_F(Checkpoint, EveryRankShardIsPublishedTogether) {
  CheckpointWriter writer(root, comm, 3);
  save(writer, 5);
  auto latest = find_latest_checkpoint(root);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 5);
  EXPECT_EQ(fs::path(latest->path).filename(), "step-5");
  for (int q = 0; q < n; ++q) {
    TensorMap loaded = load_tensors((fs::path(latest->path) / shard_file_name("model", 0, q)).string());
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_TRUE(torch::equal(loaded.at("weight"), torch::full({3, 2}, 50.0f + q)));
    EXPECT_EQ(loaded.at("step").item<int64_t>(), 5);
  }
  EXPECT_EQ(read_json_file((fs::path(latest->path) / "meta.json").string()).at("consumed_samples"), 320);
  EXPECT_FALSE(fs::exists(fs::path(root) / "step-5.tmp"));
}

TEST_F(Checkpoint, CrashBeforeRenameKeepsThePreviousLatest) {
  CheckpointWriter writer(root, comm, 3);
  save(writer, 1);
  // Step 2 writes every shard, then "dies" before commit: nothing renames it.
  writer.begin(2);
  writer.save_tensors(shard_file_name("model", 0, r), shard(2));
  comm->barrier();
  EXPECT_TRUE(fs::is_directory(fs::path(root) / "step-2.tmp"));
  auto latest = find_latest_checkpoint(root);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 1);
  // Even without the marker, the scan ignores the .tmp leftover.
  comm->barrier();
  if (r == 0) fs::remove(fs::path(root) / "latest");
  comm->barrier();
  latest = find_latest_checkpoint(root);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 1);
  ASSERT_EQ(list_checkpoints(root).size(), 1u);

  // A restarted writer removes the leftover and saves normally.
  CheckpointWriter restarted(root, comm, 3);
  save(restarted, 3);
  EXPECT_FALSE(fs::exists(fs::path(root) / "step-2.tmp"));
  EXPECT_EQ(find_latest_checkpoint(root)->step, 3);
}

TEST_F(Checkpoint, KeepsLastKAndTheBest) {
  CheckpointWriter writer(root, comm, 2);
  const double metrics[] = {0.1, 0.5, 0.3, 0.2, 0.4};
  for (int step = 1; step <= 5; ++step) save(writer, step * 100, metrics[step - 1]);
  std::vector<int64_t> kept;
  for (const auto& c : list_checkpoints(root)) kept.push_back(c.step);
  EXPECT_EQ(kept, (std::vector<int64_t>{200, 400, 500}));  // last two + best (0.5 at step 200)
  auto best = find_best_checkpoint(root);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->step, 200);
  EXPECT_DOUBLE_EQ(read_json_file((fs::path(root) / "best.json").string()).at("metric").get<double>(), 0.5);
  EXPECT_EQ(find_latest_checkpoint(root)->step, 500);
}

TEST_F(Checkpoint, ResavingAStepReplacesIt) {
  CheckpointWriter writer(root, comm, 3);
  save(writer, 7);
  writer.begin(7);
  writer.save_tensors(shard_file_name("model", 0, r), {{"weight", torch::ones({1})}});
  writer.commit();
  auto loaded = load_tensors((fs::path(root) / "step-7" / shard_file_name("model", 0, r)).string());
  EXPECT_TRUE(torch::equal(loaded.at("weight"), torch::ones({1})));
  EXPECT_EQ(loaded.count("step"), 0u);
}

TEST(CheckpointFiles, ShardNamesAndAtomicWrites) {
  EXPECT_EQ(shard_file_name("optim", 1, 12), "optim-tp01-dp012.pt");
  fs::path dir = fs::temp_directory_path() / fmt::format("gensar-atomic-{}", ::getpid());
  fs::create_directories(dir);
  if (world()->rank() == 0) {
    write_file_atomically((dir / "marker").string(), "step-1\n");
    write_file_atomically((dir / "marker").string(), "step-2\n");
    std::ifstream in(dir / "marker");
    std::string text;
    in >> text;
    EXPECT_EQ(text, "step-2");
    int files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
    EXPECT_EQ(files, 1);  // no temp files left behind
    EXPECT_THROW(load_tensors((dir / "missing.pt").string()), InputError);
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace gensar::dist
