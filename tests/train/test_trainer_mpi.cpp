// Two data-parallel ranks (mpirun -np 2), each with micro-batch 4, train like one process with
// batch 8 on the same global sample stream: the same per-step losses within 1e-5 relative
// (float summation order differs: gradients are averaged by the all-reduce, not summed in one
// batch), and the replicas stay bitwise identical to each other.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/train/replica_check.h"
#include "core/train/trainer.h"
#include "distributed/process_mesh.h"
#include "train_fixture.h"

using namespace gensar;
using namespace gensar::train;
using namespace gensar::train::testing;

TEST(TrainerMpi, TwoRanksMatchOneProcessOnTheCombinedBatch) {
  torch::set_num_threads(1);
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2);
  TinyRun run = make_tiny_run("mpi" + std::to_string(world->rank()));
  auto config = tiny_model_config(*run.pieces.tokenizer, 0.0);
  TrainerOptions o;
  o.progress = false;
  o.valid_every = -1;
  o.max_steps = 5;
  o.lr = 3e-3;
  o.mix.next_query = 6;
  o.mix.query_item = 4;
  o.mix.text_to_id = 4;
  o.mix.id_to_text = 4;
  o.checkpoint_files = {{"config.ini", "x = 1\n"}};
  o.check_replicas_every = 1;  // DP replicas compare checksums after every step (they agree)

  // DP = 2: a shared run directory (rank 0 manages it).
  std::string shared_dir = world->broadcast_bytes(run.dir, 0);
  o.out = shared_dir + "/dp2";
  o.batch_size = 4;
  auto mesh = std::make_shared<dist::ProcessMesh>(world, dist::MeshOptions{});
  model::T5Model dp_model(config, nullptr, 5);
  Trainer dp(o, run.pieces.builder, dp_model, mesh);
  ASSERT_EQ(dp.global_batch_size(), 8);
  ASSERT_EQ(dp.run(), TrainStatus::kFinished);

  // One process, batch 8, on each rank's own directory.
  o.out = run.dir + "/single";
  o.batch_size = 8;
  auto single = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});
  model::T5Model one_model(config, nullptr, 5);
  Trainer one(o, run.pieces.builder, one_model, single);
  ASSERT_EQ(one.run(), TrainStatus::kFinished);

  ASSERT_EQ(dp.history().size(), one.history().size());
  for (size_t i = 0; i < dp.history().size(); ++i) {
    const double a = dp.history()[i].loss, b = one.history()[i].loss;
    EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(b))) << "step " << i + 1;
  }
  // Replicas agree bitwise.
  for (const auto& item : dp_model->named_parameters()) {
    torch::Tensor mine = item.value().detach().clone();
    torch::Tensor other = mine.clone();
    world->broadcast(other, 0);
    EXPECT_TRUE(torch::equal(mine, other)) << item.key();
  }
}

// Tensor parallel: world 2 = DP 1 x TP 2 trains like one process (same batch, dropout off) within
// 1e-4 relative per-step loss (sharded matmuls and the vocab-parallel loss sum in another order).
TEST(TrainerMpi, TensorParallelTwoMatchesOneProcess) {
  torch::set_num_threads(1);
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2);
  TinyRun run = make_tiny_run("tp" + std::to_string(world->rank()));
  auto config = tiny_model_config(*run.pieces.tokenizer, 0.0);
  ASSERT_EQ(config.vocab_size % 2, 0);
  // Plain cross-entropy and label smoothing (whose mean logit is also summed over the shards).
  for (const double smoothing : {0.0, 0.1}) {
    SCOPED_TRACE("label smoothing " + std::to_string(smoothing));
    TrainerOptions o;
    o.progress = false;
    o.valid_every = -1;
    o.max_steps = 4;
    o.lr = 3e-3;
    o.batch_size = 8;
    o.label_smoothing = smoothing;
    o.mix.enable_only("rec,search,id_to_text");
    o.mix.id_to_text = 4;
    o.checkpoint_files = {{"config.ini", "x = 1\n"}};
    const std::string tag = smoothing > 0 ? "-smooth" : "";
    o.out = world->broadcast_bytes(run.dir, 0) + "/tp2" + tag;
    auto mesh = std::make_shared<dist::ProcessMesh>(world, dist::MeshOptions{2, "cpu"});
    ASSERT_EQ(mesh->tp_size(), 2);
    model::T5Model tp_model(config, mesh->tp(), 5);
    Trainer tp(o, run.pieces.builder, tp_model, mesh);
    ASSERT_EQ(tp.run(), TrainStatus::kFinished);

    o.out = run.dir + "/single" + tag;
    auto single = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});
    model::T5Model one_model(config, nullptr, 5);
    Trainer one(o, run.pieces.builder, one_model, single);
    ASSERT_EQ(one.run(), TrainStatus::kFinished);
    ASSERT_EQ(tp.history().size(), one.history().size());
    for (size_t i = 0; i < tp.history().size(); ++i) {
      const double a = tp.history()[i].loss, b = one.history()[i].loss;
      EXPECT_NEAR(a, b, 1e-4 * std::max(1.0, std::abs(b))) << "step " << i + 1;
      EXPECT_NEAR(tp.history()[i].grad_norm, one.history()[i].grad_norm,
                  1e-3 * std::max(1.0, one.history()[i].grad_norm)) << "step " << i + 1;
    }
  }
}

// --check-replicas-every: identical replicas pass; one changed parameter on one rank stops every
// rank with an error naming it.
TEST(TrainerMpi, ReplicaCheckNamesTheFirstDifferingParameter) {
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2);
  torch::manual_seed(3);
  torch::nn::Linear layer(3, 2);
  EXPECT_NO_THROW(check_replicas_agree(*layer, *world, 7));
  if (world->rank() == 1) {
    torch::NoGradGuard no_grad;
    layer->bias[0].add_(0.5);
  }
  try {
    check_replicas_agree(*layer, *world, 7);
    ADD_FAILURE() << "diverged replicas passed the check";
  } catch (const std::exception& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 7"), std::string::npos) << message;
    EXPECT_NE(message.find("'bias'"), std::string::npos) << message;
    EXPECT_EQ(message.find("'weight'"), std::string::npos) << message;
  }
}
