// Started under mpirun by test_fault.cpp. Every rank all-reduces in a loop; at iteration 3 the last
// rank misbehaves: "die" exits abruptly (no MPI_Finalize), "stall" sleeps far past the timeout
// (a hung peer that mpirun cannot notice). The survivors must end the job within the timeout.
// "die-during-save DIR" saves step 1 to DIR, then the last rank dies while step 2 is being written.
#include "distributed/checkpoint_io.h"
#include "distributed/communicator.h"
#include "distributed/watchdog.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dist_fault_driver die|stall TIMEOUT_SECONDS\n");
    return 2;
  }
  const std::string mode = argv[1];
  gensar::dist::set_collective_timeout(std::atof(argv[2]));
  auto comm = gensar::dist::world();
  const bool victim = comm->rank() == comm->size() - 1;
  if (mode == "die-during-save") {
    gensar::dist::CheckpointWriter writer(argv[3], comm, 3);
    for (int step = 1; step <= 2; ++step) {
      writer.begin(step);
      writer.save_tensors(gensar::dist::shard_file_name("model", 0, comm->rank()),
                          {{"w", torch::full({4}, static_cast<float>(step))}});
      if (step == 2 && victim) _exit(9);
      writer.commit();
    }
    return 0;
  }
  for (int i = 0; i < 1000; ++i) {
    if (i == 3 && victim) {
      if (mode == "die") _exit(9);
      std::this_thread::sleep_for(std::chrono::seconds(600));
    }
    torch::Tensor t = torch::ones({1024});
    comm->all_reduce(t, gensar::dist::ReduceOp::kSum);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "rank %d finished every iteration: the fault was not noticed\n", comm->rank());
  return 0;
}
