// Issue 9 item 7: a long single-rank phase (rank 0 training the tokenizer) is not a stall. With a
// 1 s collective timeout, rank 0 works for 3 s before the broadcast that the other rank waits in;
// the wait is marked LongPhaseWait, so the watchdog must not abort the job (exit 70), while an
// ordinary collective stays timed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "distributed/communicator.h"
#include "distributed/watchdog.h"

using namespace gensar;

TEST(LongPhase, WaitingForRankZerosLongPhaseDoesNotTripTheWatchdog) {
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2) << "run under mpirun -np 2";
  dist::set_collective_timeout(1.0);
  std::string bytes;
  if (world->rank() == 0) {
    std::this_thread::sleep_for(std::chrono::seconds(3));  // the "tokenizer training"
    bytes = "tokenizer model bytes";
  }
  std::string got;
  {
    dist::LongPhaseWait waiting("rank 0 training the tokenizer");
    got = world->broadcast_bytes(bytes, 0);
  }
  EXPECT_EQ(got, "tokenizer model bytes");
  // Outside the scope the timeout applies again (exempt only while marked).
  torch::Tensor t = torch::ones({1});
  world->all_reduce(t);
  EXPECT_EQ(t.item<float>(), 2.0f);
  dist::set_collective_timeout(1800.0);
}
