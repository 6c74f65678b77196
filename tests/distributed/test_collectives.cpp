// Collectives of the world communicator (MPI under mpirun, single process otherwise), sub-groups,
// the DP x TP mesh and the coordinated stop flag. Runs under mpirun -np 2 and -np 4.
#include "core/common/check.h"
#include "distributed/communicator.h"
#include "distributed/process_mesh.h"
#include "distributed/stop_signal.h"
#include "distributed/watchdog.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>

namespace gensar::dist {
namespace {

class Collectives : public ::testing::Test {
 protected:
  void SetUp() override {
    set_collective_timeout(60);
    comm = world();
    r = comm->rank();
    n = comm->size();
  }
  std::shared_ptr<Communicator> comm;
  int r = 0, n = 1;
};

TEST_F(Collectives, WorldMatchesLauncher) {
  // mpirun exports OMPI_COMM_WORLD_SIZE; srun --mpi=pmix exports SLURM_STEP_NUM_TASKS.
  int expected = 1;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    if (const char* v = std::getenv(name)) {
      expected = std::atoi(v);
      break;
    }
  }
  EXPECT_EQ(comm->size(), expected);
  EXPECT_EQ(comm->backend(), expected > 1 ? "mpi" : "single");
  EXPECT_EQ(world().get(), comm.get());  // one instance
}

TEST_F(Collectives, AllReduceEveryDtypeAndOp) {
  // Rank r holds values r+1 and 2*(r+1): sum = n(n+1)/2 * k, max = n*k, min = k.
  const int64_t sum = n * (n + 1) / 2;
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kInt, torch::kLong, torch::kByte,
                     torch::kHalf, torch::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    torch::Tensor base = torch::tensor({1, 2}, torch::kLong).mul(r + 1);
    torch::Tensor t = base.to(dtype).clone();
    comm->all_reduce(t, ReduceOp::kSum);
    EXPECT_TRUE(torch::equal(t.to(torch::kLong), torch::tensor({sum, 2 * sum}, torch::kLong)));
    t = base.to(dtype).clone();
    comm->all_reduce(t, ReduceOp::kMax);
    EXPECT_TRUE(torch::equal(t.to(torch::kLong), torch::tensor({n, 2 * n}, torch::kLong)));
    t = base.to(dtype).clone();
    comm->all_reduce(t, ReduceOp::kMin);
    EXPECT_TRUE(torch::equal(t.to(torch::kLong), torch::tensor({1, 2}, torch::kLong)));
  }
}

TEST_F(Collectives, AllReduceBoolIsLogical) {
  torch::Tensor only_last = torch::tensor({r == n - 1, true, false}, torch::kBool);
  torch::Tensor any = only_last.clone();
  comm->all_reduce(any, ReduceOp::kMax);
  EXPECT_TRUE(torch::equal(any, torch::tensor({true, true, false})));
  torch::Tensor all = only_last.clone();
  comm->all_reduce(all, ReduceOp::kMin);
  EXPECT_TRUE(torch::equal(all, torch::tensor({n == 1, true, false})));
}

TEST_F(Collectives, AsyncAllReduceOfSeveralTensors) {
  std::vector<torch::Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int i = 0; i < 4; ++i) {
    tensors.push_back(torch::full({1000 * (i + 1)}, static_cast<double>(r + i), torch::kDouble));
    works.push_back(comm->all_reduce_async(tensors.back(), ReduceOp::kSum));
  }
  for (int i = 3; i >= 0; --i) works[i]->wait();  // any wait order
  for (int i = 0; i < 4; ++i) {
    double expected = n * (n - 1) / 2.0 + n * i;
    EXPECT_DOUBLE_EQ(tensors[i].min().item<double>(), expected);
    EXPECT_DOUBLE_EQ(tensors[i].max().item<double>(), expected);
    EXPECT_TRUE(works[i]->poll());
  }
}

TEST_F(Collectives, BroadcastFromEachRoot) {
  for (int root = 0; root < n; ++root) {
    torch::Tensor t = torch::arange(6, torch::kFloat).reshape({2, 3}) * (r == root ? 1 : -7);
    t.add_(r == root ? root : 0);
    comm->broadcast(t, root);
    EXPECT_TRUE(torch::equal(t, torch::arange(6, torch::kFloat).reshape({2, 3}) + root));
  }
}

TEST_F(Collectives, AllGatherConcatenatesInRankOrder) {
  torch::Tensor mine = torch::full({2, 3}, r, torch::kLong);
  torch::Tensor all = comm->all_gather(mine);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{2 * n, 3}));
  for (int q = 0; q < n; ++q) {
    EXPECT_TRUE(torch::equal(all.narrow(0, 2 * q, 2), torch::full({2, 3}, q, torch::kLong)));
  }
}

TEST_F(Collectives, ReduceScatterKeepsOwnSlice) {
  // Row i of every rank's input is i + rank: the sum is n*i + n(n-1)/2.
  torch::Tensor input = torch::arange(2 * n, torch::kDouble).unsqueeze(1).repeat({1, 4}) + r;
  torch::Tensor slice = comm->reduce_scatter(input, ReduceOp::kSum);
  ASSERT_EQ(slice.sizes(), (std::vector<int64_t>{2, 4}));
  for (int i = 0; i < 2; ++i) {
    double row = 2 * r + i;
    EXPECT_DOUBLE_EQ(slice[i][0].item<double>(), n * row + n * (n - 1) / 2.0);
  }
}

TEST_F(Collectives, BroadcastBytes) {
  std::string message = r == n - 1 ? std::string("config from the last rank\0with a nul", 36) : "";
  std::string got = comm->broadcast_bytes(message, n - 1);
  EXPECT_EQ(got, std::string("config from the last rank\0with a nul", 36));
  EXPECT_EQ(comm->broadcast_bytes("", 0), "");
}

TEST_F(Collectives, SplitByParity) {
  auto group = comm->split(r % 2, /*key=*/-r);  // reversed order inside each group
  int members = (n - r % 2 + 1) / 2;
  EXPECT_EQ(group->size(), members);
  // Key -r: the highest world rank of the group is group rank 0.
  int higher_in_group = 0;
  for (int q = r + 2; q < n; q += 2) ++higher_in_group;
  EXPECT_EQ(group->rank(), higher_in_group);
  torch::Tensor t = torch::full({1}, r, torch::kLong);
  group->all_reduce(t, ReduceOp::kSum);
  int64_t expected = 0;
  for (int q = r % 2; q < n; q += 2) expected += q;
  EXPECT_EQ(t.item<int64_t>(), expected);
  group->barrier();
}

TEST_F(Collectives, MeshGroupsAreConsecutiveTpAndStridedDp) {
  int tp_size = n % 2 == 0 ? 2 : 1;
  ProcessMesh mesh(comm, MeshOptions{tp_size, "cpu"});
  EXPECT_EQ(mesh.tp_size(), tp_size);
  EXPECT_EQ(mesh.dp_size(), n / tp_size);
  EXPECT_EQ(mesh.tp_rank(), r % tp_size);
  EXPECT_EQ(mesh.dp_rank(), r / tp_size);
  EXPECT_EQ(mesh.cuda_device(), -1);
  // TP group members are consecutive world ranks; DP group members share the TP rank.
  torch::Tensor tp_members = mesh.tp()->all_gather(torch::full({1}, r, torch::kLong));
  for (int i = 0; i < tp_size; ++i) {
    EXPECT_EQ(tp_members[i].item<int64_t>(), mesh.dp_rank() * tp_size + i);
  }
  torch::Tensor dp_members = mesh.dp()->all_gather(torch::full({1}, r, torch::kLong));
  for (int i = 0; i < mesh.dp_size(); ++i) {
    EXPECT_EQ(dp_members[i].item<int64_t>(), i * tp_size + mesh.tp_rank());
  }
  if (n == 4) {
    EXPECT_EQ(mesh.dp_size(), 2);  // DP2 x TP2
    EXPECT_EQ(mesh.tp_size(), 2);
  }
}

TEST_F(Collectives, MeshRejectsIndivisibleTpSize) {
  int bad = n + 1;
  try {
    ProcessMesh mesh(comm, MeshOptions{bad, "cpu"});
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not divisible by --tp-size"), std::string::npos)
        << e.what();
  }
}

TEST_F(Collectives, StopSignalOnOneRankStopsAll) {
  install_stop_signal_handlers();
  clear_stop_request();
  EXPECT_FALSE(should_stop(*comm));
  if (r == n - 1) {
    std::raise(SIGUSR1);
    EXPECT_TRUE(stop_requested_locally());
    EXPECT_EQ(stop_signal_number(), SIGUSR1);
  } else {
    EXPECT_FALSE(stop_requested_locally());
  }
  EXPECT_TRUE(should_stop(*comm));  // every rank agrees at the same step
  clear_stop_request();
  if (r == 0) std::raise(SIGTERM);
  EXPECT_TRUE(should_stop(*comm));
  clear_stop_request();
  EXPECT_FALSE(should_stop(*comm));
}

TEST(Placement, LocalRankComesFromTheLauncher) {
  if (const char* v = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) {
    EXPECT_EQ(local_rank(), std::atoi(v));  // one node: local rank == world rank
    EXPECT_EQ(local_rank(), world()->rank());
  } else if (std::getenv("SLURM_LOCALID")) {
    EXPECT_EQ(local_rank(), std::atoi(std::getenv("SLURM_LOCALID")));
  } else {
    EXPECT_EQ(local_rank(), 0);
    ::setenv("SLURM_LOCALID", "3", 1);
    EXPECT_EQ(local_rank(), 3);
    ::unsetenv("SLURM_LOCALID");
  }
}

}  // namespace
}  // namespace gensar::dist
