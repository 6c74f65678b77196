// Data-parallel scaling on this machine: one rank alone vs two ranks with the gradient reducer, on a
// small T5-like workload (token embedding, 2 pre-norm transformer blocks, vocabulary projection).
// Prints samples/s, scaling efficiency, the share of a step spent in exposed communication, and a
// bucket-size sweep. Run: mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none bench_dp
#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "distributed/mpi_communicator.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using gensar::dist::Communicator;

constexpr int64_t kVocab = 2000, kModel = 128, kHeads = 4, kFfn = 512, kSeq = 32, kBatch = 16;
constexpr int kWarmup = 3, kSteps = 20;

struct BlockImpl : torch::nn::Module {
  BlockImpl() {
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({kModel})));
    attn = register_module("attn", torch::nn::MultiheadAttention(kModel, kHeads));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({kModel})));
    ff1 = register_module("ff1", torch::nn::Linear(kModel, kFfn));
    ff2 = register_module("ff2", torch::nn::Linear(kFfn, kModel));
  }
  torch::Tensor forward(torch::Tensor x) {  // x: [seq, batch, model]
    torch::Tensor h = norm1(x);
    x = x + std::get<0>(attn(h, h, h));
    return x + ff2(torch::relu(ff1(norm2(x))));
  }
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::MultiheadAttention attn{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(Block);

struct TinyLmImpl : torch::nn::Module {
  TinyLmImpl() {
    embed = register_module("embed", torch::nn::Embedding(kVocab, kModel));
    b1 = register_module("b1", Block());
    b2 = register_module("b2", Block());
    head = register_module("head", torch::nn::Linear(kModel, kVocab));
  }
  torch::Tensor forward(const torch::Tensor& tokens) {  // [batch, seq] -> [batch*seq, vocab]
    torch::Tensor x = embed(tokens).transpose(0, 1);
    x = b2(b1(x)).transpose(0, 1).reshape({-1, kModel});
    return head(x);
  }
  torch::nn::Embedding embed{nullptr};
  Block b1{nullptr}, b2{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(TinyLm);

struct RunResult {
  double samples_per_s = 0;
  double step_ms = 0;
  double exposed_comm_share = 0;  // finish_backward time / step time
  double launched_in_backward = 0;
  int buckets = 0;
};

// Trains `steps` steps on `comm` (single or DP group) and times them.
RunResult train(std::shared_ptr<Communicator> comm, double bucket_mb) {
  torch::manual_seed(42);
  TinyLm model;
  gensar::dist::GradientReducer reducer(model->parameters(), comm,
                                        gensar::dist::ReducerOptions{bucket_mb, true});
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01));
  torch::manual_seed(1000 + comm->rank());
  double finish = 0, launched = 0;
  Clock::time_point start;
  for (int step = 0; step < kWarmup + kSteps; ++step) {
    if (step == kWarmup) {
      comm->barrier();
      start = Clock::now();
    }
    torch::Tensor tokens = torch::randint(kVocab, {kBatch, kSeq}, torch::kLong);
    torch::Tensor targets = torch::randint(kVocab, {kBatch * kSeq}, torch::kLong);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(tokens), targets).backward();
    reducer.finish_backward();
    opt.step();
    if (step >= kWarmup) {
      finish += reducer.last_step().finish_seconds;
      launched += reducer.last_step().buckets_launched_in_backward;
    }
  }
  comm->barrier();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  RunResult r;
  r.samples_per_s = kSteps * kBatch * comm->size() / seconds;
  r.step_ms = 1000 * seconds / kSteps;
  r.exposed_comm_share = finish / seconds;
  r.launched_in_backward = launched / kSteps;
  r.buckets = reducer.bucket_count();
  return r;
}

// Waits for the other ranks without spinning a core (MPI's blocking barrier busy-polls).
void idle_barrier(Communicator& world) {
  auto* mpi = dynamic_cast<gensar::dist::MpiCommunicator*>(&world);
  if (!mpi) return world.barrier();
  MPI_Request request;
  MPI_Ibarrier(mpi->comm(), &request);
  int done = 0;
  while (!done) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

int main() {
  torch::set_num_threads(1);
  auto world = gensar::dist::world();
  const int rank = world->rank(), size = world->size();
  int64_t params = 0;
  {
    TinyLm probe;
    for (auto& p : probe->parameters()) params += p.numel();
  }
  if (rank == 0) {
    // The machine is shared: a load above the core count means the ranks did not own their cores.
    std::string load;
    std::getline(std::ifstream("/proc/loadavg"), load);
    std::printf("load average at start: %s (cores: %u)\n", load.c_str(),
                std::thread::hardware_concurrency());
    std::printf("bench_dp: T5-like block LM, %lld parameters (%.2f MB fp32), batch %lld x %lld tokens "
                "per rank, %d timed steps, 1 intra-op thread per rank, %d ranks\n",
                static_cast<long long>(params), params * 4 / 1e6, static_cast<long long>(kBatch),
                static_cast<long long>(kSeq), kSteps, size);
  }

  // Baseline: rank 0 alone on its core while the others sleep.
  RunResult single;
  if (rank == 0) single = train(gensar::dist::single_process_communicator(), 25.0);
  idle_barrier(*world);
  if (rank == 0) {
    std::printf("\n1 rank : %8.1f samples/s  %7.1f ms/step\n", single.samples_per_s, single.step_ms);
  }
  if (size < 2) {
    if (rank == 0) std::printf("(run under mpirun -np 2 for the scaling figures)\n");
    return 0;
  }

  // Both ranks train alone at the same time: what two ranks give with no communication at all,
  // under the same core contention as the DP runs (separates communication from contention).
  RunResult concurrent = train(gensar::dist::single_process_communicator(), 25.0);
  torch::Tensor rate = torch::tensor({concurrent.samples_per_s}, torch::kDouble);
  world->all_reduce(rate);
  const double concurrent_total = rate.item<double>();
  if (rank == 0) {
    std::printf("%d ranks each alone, concurrently: %8.1f samples/s in total (%.1f%% of %d x 1 rank)\n",
                size, concurrent_total, 100 * concurrent_total / (size * single.samples_per_s), size);
  }

  // Raw cost of reducing every gradient once, blocking (what no overlap at all would cost).
  torch::Tensor flat = torch::ones({params});
  for (int i = 0; i < 3; ++i) world->all_reduce(flat);
  auto t0 = Clock::now();
  const int reps = 20;
  for (int i = 0; i < reps; ++i) world->all_reduce(flat);
  double allreduce_ms = 1000 * std::chrono::duration<double>(Clock::now() - t0).count() / reps;

  if (rank == 0) {
    std::printf("blocking all-reduce of all gradients (%.2f MB): %.2f ms\n\n", params * 4 / 1e6,
                allreduce_ms);
    std::printf("%-10s %8s %12s %10s %11s %13s %14s %16s\n", "bucket MB", "buckets", "samples/s",
                "ms/step", "efficiency", "vs no-comm", "exposed comm", "launched in bwd");
  }
  for (double bucket_mb : {0.25, 1.0, 4.0, 25.0}) {
    RunResult dp = train(world, bucket_mb);
    if (rank == 0) {
      std::printf("%-10.2f %8d %12.1f %10.1f %10.1f%% %12.1f%% %13.1f%% %16.1f\n", bucket_mb,
                  dp.buckets, dp.samples_per_s, dp.step_ms,
                  100 * dp.samples_per_s / (size * single.samples_per_s),
                  100 * dp.samples_per_s / concurrent_total, 100 * dp.exposed_comm_share,
                  dp.launched_in_backward);
    }
  }
  if (rank == 0) {
    std::printf("\nefficiency = samples/s with %d ranks / (%d x samples/s of 1 rank); vs no-comm = "
                "samples/s / the concurrent no-communication total; exposed comm = share of step "
                "time in finish_backward (waiting for all-reduces + copy-back)\n",
                size, size);
  }
  return 0;
}
