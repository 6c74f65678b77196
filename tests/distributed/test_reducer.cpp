// The DDP-style gradient reducer: equivalence with one process on the combined batch, unused
// parameters, no_sync accumulation, parameter broadcast and the replica check. NP 2 and NP 4.
#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "distributed/process_mesh.h"
#include "distributed/watchdog.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace gensar::dist {
namespace {

struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(8, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 32));
    head_a = register_module("head_a", torch::nn::Linear(32, 4));
    head_b = register_module("head_b", torch::nn::Linear(32, 4));
  }
  torch::Tensor forward(const torch::Tensor& x, bool use_b) {
    torch::Tensor h = torch::tanh(fc2(torch::tanh(fc1(x))));
    torch::Tensor out = head_a(h);
    if (use_b) out = out + head_b(h);
    return out;
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, head_a{nullptr}, head_b{nullptr};
};
TORCH_MODULE(Net);

void copy_parameters(Net& from, Net& to) {
  torch::NoGradGuard no_grad;
  auto src = from->parameters();
  auto dst = to->parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

// Batch `step` of the global data set, the same on every rank (fixed seed per step).
std::pair<torch::Tensor, torch::Tensor> global_batch(int step, int64_t rows) {
  torch::manual_seed(1000 + step);
  torch::Tensor x = torch::randn({rows, 8});
  torch::Tensor y = torch::randn({rows, 4});
  return {x, y};
}

class Reducer : public ::testing::Test {
 protected:
  void SetUp() override {
    set_collective_timeout(60);
    comm = world();
    r = comm->rank();
    n = comm->size();
  }
  // Rows of the global batch that belong to this rank.
  torch::Tensor mine(const torch::Tensor& t) const {
    int64_t per = t.size(0) / n;
    return t.narrow(0, r * per, per);
  }
  std::shared_ptr<Communicator> comm;
  int r = 0, n = 1;
};

TEST_F(Reducer, DataParallelMatchesOneProcessOnTheCombinedBatch) {
  torch::manual_seed(7 + r);  // different initialisations: the reducer must broadcast rank 0's
  Net dp_model;
  // A tiny cap forces several buckets, so launches happen during backward and out of one piece.
  GradientReducer reducer(dp_model->parameters(), comm, ReducerOptions{0.002, true});
  ASSERT_GT(reducer.bucket_count(), 2);
  EXPECT_TRUE(reducer.replicas_consistent());
  // Reverse registration order: the last parameter (head_b.bias) leads the first bucket.
  EXPECT_EQ(reducer.bucket_parameters(0).front(), static_cast<int>(dp_model->parameters().size()) - 1);

  Net reference;
  copy_parameters(dp_model, reference);
  torch::optim::SGD dp_opt(dp_model->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD ref_opt(reference->parameters(), torch::optim::SGDOptions(0.1));

  const int64_t rows = 16;  // divisible by 1, 2 and 4 ranks
  for (int step = 0; step < 10; ++step) {
    auto [x, y] = global_batch(step, rows);
    if (step % 2 == 0) {
      dp_opt.zero_grad();
    } else {
      // LibTorch 2.x zero_grad() leaves .grad undefined ("set to none"): both must work.
      for (auto& p : dp_model->parameters()) p.mutable_grad() = torch::Tensor();
    }
    torch::Tensor loss = torch::mse_loss(dp_model->forward(mine(x), true), mine(y));
    loss.backward();
    reducer.finish_backward();
    dp_opt.step();
    EXPECT_EQ(reducer.last_step().unused_parameters, 0);
    if (n > 1) EXPECT_GT(reducer.last_step().buckets_launched_in_backward, 0);

    ref_opt.zero_grad();
    torch::mse_loss(reference->forward(x, true), y).backward();
    ref_opt.step();
  }
  // Mean of per-rank means == mean over the combined batch; float32 summation order differs, so
  // the parameters agree to rounding (observed ~1e-8; 1e-5 leaves room, a real bug is ~1e-2).
  auto a = dp_model->parameters();
  auto b = reference->parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-5) << "parameter " << i;
  }
  EXPECT_TRUE(reducer.replicas_consistent());
}

// What the reducer must produce: every rank's local gradient, averaged over the ranks.
std::vector<torch::Tensor> averaged_local_gradients(Net& model, Communicator& comm) {
  std::vector<torch::Tensor> out;
  for (auto& p : model->parameters()) {
    torch::Tensor g = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
    comm.all_reduce(g, ReduceOp::kSum);
    out.push_back(g / comm.size());
  }
  return out;
}

TEST_F(Reducer, UnusedParametersAreZeroFilledAndNobodyHangs) {
  torch::manual_seed(3);
  Net model;
  Net plain;
  copy_parameters(model, plain);
  GradientReducer reducer(model->parameters(), comm, ReducerOptions{0.002, true});
  // Only odd ranks use head_b: on even ranks its hooks never fire.
  bool use_b = r % 2 == 1;
  auto [x, y] = global_batch(0, 16);
  torch::mse_loss(model->forward(mine(x), use_b), mine(y)).backward();
  reducer.finish_backward();
  EXPECT_EQ(reducer.last_step().unused_parameters, use_b ? 0 : 2);

  torch::mse_loss(plain->forward(mine(x), use_b), mine(y)).backward();
  auto expected = averaged_local_gradients(plain, *comm);
  auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << "parameter " << i;
    EXPECT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-6, 1e-7)) << "parameter " << i;
  }
  // A step where no rank uses head_b: its averaged gradient is zero everywhere.
  for (auto& p : params) p.mutable_grad().zero_();
  torch::mse_loss(model->forward(mine(x), false), mine(y)).backward();
  reducer.finish_backward();
  EXPECT_EQ(model->head_b->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST_F(Reducer, NoSyncAccumulatesLocallyThenReducesTheSum) {
  torch::manual_seed(5);
  Net model;
  Net plain;
  copy_parameters(model, plain);
  GradientReducer reducer(model->parameters(), comm, ReducerOptions{25.0, true});
  EXPECT_EQ(reducer.bucket_count(), 1);
  const int micro_steps = 4;
  for (int k = 0; k < micro_steps; ++k) {
    auto [x, y] = global_batch(k, 8 * n);
    torch::mse_loss(plain->forward(mine(x), true), mine(y)).backward();
    if (k < micro_steps - 1) {
      auto guard = reducer.no_sync();
      torch::mse_loss(model->forward(mine(x), true), mine(y)).backward();
      reducer.finish_backward();  // a no-op inside no_sync
      // Still purely local: equal to the plain model's accumulated gradient.
      EXPECT_TRUE(torch::allclose(model->fc1->weight.grad(), plain->fc1->weight.grad(), 1e-6, 1e-7));
    } else {
      torch::mse_loss(model->forward(mine(x), true), mine(y)).backward();
      reducer.finish_backward();
    }
  }
  auto expected = averaged_local_gradients(plain, *comm);
  auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

TEST_F(Reducer, ReplicaCheckDetectsDivergence) {
  torch::manual_seed(11);
  Net model;
  GradientReducer reducer(model->parameters(), comm, ReducerOptions{});
  EXPECT_TRUE(reducer.replicas_consistent());
  if (n > 1) {
    {
      torch::NoGradGuard no_grad;
      if (r == n - 1) model->fc2->weight[0][0].add_(1e-6);
    }
    EXPECT_FALSE(reducer.replicas_consistent());
    reducer.broadcast_parameters();
    EXPECT_TRUE(reducer.replicas_consistent());
  }
}

TEST_F(Reducer, SecondBackwardWithoutFinishIsAnError) {
  torch::manual_seed(13);
  Net model;
  GradientReducer reducer(model->parameters(), comm, ReducerOptions{});
  auto [x, y] = global_batch(0, 8 * n);
  torch::mse_loss(model->forward(mine(x), true), mine(y)).backward();
  torch::Tensor loss = torch::mse_loss(model->forward(mine(x), true), mine(y));
  EXPECT_THROW(loss.backward(), std::exception);
  // The reducer is still usable after completing the step.
  reducer.finish_backward();
}

TEST_F(Reducer, WithTensorParallelismReducesOverTheDpGroupOnly) {
  if (n % 2 != 0) GTEST_SKIP() << "needs an even world size";
  ProcessMesh mesh(comm, MeshOptions{2, "cpu"});
  // Stand-in for TP shards: each TP rank owns different parameters (seeded by TP rank).
  torch::manual_seed(100 + mesh.tp_rank());
  Net model;
  Net plain;
  copy_parameters(model, plain);
  GradientReducer reducer(model->parameters(), mesh.dp(), ReducerOptions{0.002, false});
  EXPECT_TRUE(reducer.replicas_consistent());  // equal within the DP group, not across TP ranks
  auto [x, y] = global_batch(mesh.tp_rank(), 4 * mesh.dp_size());
  int64_t per = x.size(0) / mesh.dp_size();
  torch::Tensor xs = x.narrow(0, mesh.dp_rank() * per, per), ys = y.narrow(0, mesh.dp_rank() * per, per);
  torch::mse_loss(model->forward(xs, true), ys).backward();
  reducer.finish_backward();
  torch::mse_loss(plain->forward(xs, true), ys).backward();
  auto expected = averaged_local_gradients(plain, *mesh.dp());
  auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-6, 1e-7)) << "parameter " << i;
  }
  // The two TP ranks' gradients differ (different shards, different data): nothing leaked across.
  torch::Tensor g = params[0].grad().clone();
  torch::Tensor other = mesh.tp()->all_gather(g.unsqueeze(0));
  EXPECT_FALSE(torch::equal(other[0], other[1]));
}

}  // namespace
}  // namespace gensar::dist
