// The stateless sample order and the streaming reader. Runs under mpirun -np 2: the coverage test
// gathers both ranks' indices with MPI; the other tests are per-process and run on every rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/common/check.h"
#include "data_pipeline/sample_order.h"
#include "data_pipeline/streaming_reader.h"

namespace gensar::data {
namespace {

class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_Init(nullptr, nullptr);
  }
  void TearDown() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
};
[[maybe_unused]] const auto* const kMpi = ::testing::AddGlobalTestEnvironment(new MpiEnvironment);

int world_rank() { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
int world_size() { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }

std::vector<int64_t> all_gather_v(const std::vector<int64_t>& mine) {
  const int size = world_size();
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(size), displs(size);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) { displs[r] = total; total += counts[r]; }
  std::vector<int64_t> all(total);
  MPI_Allgatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displs.data(),
                 MPI_INT64_T, MPI_COMM_WORLD);
  return all;
}

// Every sample index of [0, n) exactly once.
void expect_exact_cover(std::vector<int64_t> indices, int64_t n) {
  ASSERT_EQ(static_cast<int64_t>(indices.size()), n);
  std::sort(indices.begin(), indices.end());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(indices[i], i) << "sample " << i << " missing or repeated";
}

// Consumes `steps` global batches with a synchronous reader and returns this rank's indices.
std::vector<int64_t> read_steps(const SampleOrder& order, RankSlice slice, int64_t consumed,
                                int64_t steps, int prefetch = 0) {
  ReaderOptions options;
  options.consumed_samples = consumed;
  options.total_samples = consumed + steps * slice.global_batch_size;
  options.prefetch = prefetch;
  StreamingReader<std::vector<int64_t>> reader(order, slice,
                                               [](const std::vector<int64_t>& s) { return s; }, options);
  std::vector<int64_t> out;
  int64_t batches = 0;
  while (auto b = reader.next()) {
    out.insert(out.end(), b->batch.begin(), b->batch.end());
    ++batches;
  }
  EXPECT_EQ(batches, steps);
  return out;
}

TEST(EpochPermutation, IsABijectionForAwkwardSizes) {
  for (int64_t n : {1, 2, 3, 5, 17, 64, 65, 1000, 4097}) {
    EpochPermutation perm(n, 42, 3);
    std::vector<int64_t> values;
    for (int64_t i = 0; i < n; ++i) values.push_back(perm(i));
    expect_exact_cover(values, n);
  }
}

TEST(EpochPermutation, DependsOnSeedAndEpochOnly) {
  const int64_t n = 1000;
  EpochPermutation a(n, 7, 0), b(n, 7, 0), c(n, 7, 1), d(n, 8, 0);
  int same_c = 0, same_d = 0, fixed = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(a(i), b(i));
    same_c += a(i) == c(i);
    same_d += a(i) == d(i);
    fixed += a(i) == i;
  }
  // A random permutation agrees with another in about 1 place of n; allow a generous margin.
  EXPECT_LT(same_c, 20);
  EXPECT_LT(same_d, 20);
  EXPECT_LT(fixed, 20);
}

TEST(SampleOrder, UnshuffledIsTheIdentityEveryEpoch) {
  SampleOrder order(10, 1, /*shuffle=*/false);
  for (int64_t p = 0; p < 30; ++p) EXPECT_EQ(order.sample_at(p), p % 10);
}

TEST(SampleOrder, RanksCoverEveryEpochExactlyOnce) {
  const int size = world_size();
  const int64_t n = 997;  // prime: epochs do not align with batches
  const int64_t global_batch = 8 * size;
  SampleOrder order(n, 2024);
  RankSlice slice{global_batch, world_rank(), size};
  // Enough steps for three whole epochs; each global position is taken by exactly one rank.
  const int64_t steps = (3 * n + global_batch - 1) / global_batch;
  std::vector<int64_t> mine;
  std::vector<int64_t> positions;
  for (int64_t s = 0; s < steps; ++s) {
    const PositionRange range = rank_positions(slice, s * global_batch);
    for (int64_t p = range.begin; p < range.end; ++p) positions.push_back(p);
  }
  const std::vector<int64_t> all_positions = all_gather_v(positions);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> samples;
    for (int64_t p : all_positions)
      if (order.epoch_of(p) == epoch) samples.push_back(order.sample_at(p));
    expect_exact_cover(samples, n);
  }
  // And the reader yields exactly this rank's positions' samples.
  std::vector<int64_t> from_reader = read_steps(order, slice, 0, steps, /*prefetch=*/3);
  ASSERT_EQ(from_reader.size(), positions.size());
  for (size_t i = 0; i < positions.size(); ++i) EXPECT_EQ(from_reader[i], order.sample_at(positions[i]));
}

TEST(SampleOrder, RanksTakeContiguousSlicesOfEachGlobalBatch) {
  SampleOrder order(100, 5);
  RankSlice r0{12, 0, 3}, r1{12, 1, 3}, r2{12, 2, 3};
  std::vector<int64_t> global = rank_batch(order, RankSlice{12, 0, 1}, 24);
  std::vector<int64_t> joined;
  for (const auto& s : {r0, r1, r2}) {
    auto part = rank_batch(order, s, 24);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, global);
}

TEST(SampleOrder, ResumeReproducesTheSameStream) {
  const int size = world_size();
  SampleOrder order(501, 99);
  RankSlice slice{4 * size, world_rank(), size};
  const std::vector<int64_t> straight = read_steps(order, slice, 0, 300, 2);
  // Stop after 137 steps, "restart" with a fresh reader from consumed_samples.
  const int64_t cut = 137;
  std::vector<int64_t> resumed = read_steps(order, slice, 0, cut, 2);
  const std::vector<int64_t> rest = read_steps(order, slice, cut * slice.global_batch_size, 300 - cut, 0);
  resumed.insert(resumed.end(), rest.begin(), rest.end());
  EXPECT_EQ(resumed, straight);
}

TEST(SampleOrder, ResumeWithAnotherDataParallelSizeCoversTheRemainderOnce) {
  // 2 ranks consume part of epoch 0, then the job resumes on 3 ranks (simulated in one process):
  // the union must still be every sample of the epoch exactly once.
  const int64_t n = 600;
  SampleOrder order(n, 31337);
  const int64_t global_batch = 12;
  std::vector<int64_t> seen;
  const int64_t first_steps = 17;
  for (int r = 0; r < 2; ++r) {
    auto part = read_steps(order, RankSlice{global_batch, r, 2}, 0, first_steps);
    seen.insert(seen.end(), part.begin(), part.end());
  }
  const int64_t consumed = first_steps * global_batch;
  const int64_t remaining_steps = (n - consumed) / global_batch;  // 600 - 204 = 396 = 33 * 12
  for (int r = 0; r < 3; ++r) {
    auto part = read_steps(order, RankSlice{global_batch, r, 3}, consumed, remaining_steps);
    seen.insert(seen.end(), part.begin(), part.end());
  }
  expect_exact_cover(seen, n);
}

TEST(SampleOrder, RejectsBatchesThatDoNotDivideAcrossRanks) {
  SampleOrder order(10, 1);
  EXPECT_THROW(rank_batch(order, RankSlice{10, 0, 3}, 0), InputError);
  EXPECT_THROW(rank_batch(order, RankSlice{9, 3, 3}, 0), InputError);
}

TEST(SampleOrder, MicroBatchesAreContiguous) {
  std::vector<int64_t> batch{5, 6, 7, 8, 9};
  auto micro = split_micro_batches(batch, 2);
  ASSERT_EQ(micro.size(), 3u);
  EXPECT_EQ(micro[0], (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(micro[2], (std::vector<int64_t>{9}));
}

TEST(StreamingReader, PrefetchPropagatesBuilderExceptions) {
  SampleOrder order(50, 3);
  ReaderOptions options;
  options.prefetch = 4;
  options.total_samples = 50;
  int calls = 0;
  StreamingReader<int> reader(order, RankSlice{5, 0, 1}, [&calls](const std::vector<int64_t>&) {
    if (++calls == 3) throw std::runtime_error("bad sample in batch 3");
    return calls;
  }, options);
  EXPECT_EQ(reader.next()->batch, 1);
  EXPECT_EQ(reader.next()->batch, 2);
  try {
    reader.next();
    FAIL() << "the builder's exception was swallowed";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "bad sample in batch 3");
  }
  EXPECT_FALSE(reader.next().has_value());  // the stream ends at the failure
}

TEST(StreamingReader, ShutsDownCleanlyWhileTheBuilderIsBlockedOnAFullQueue) {
  SampleOrder order(1000, 3);
  ReaderOptions options;
  options.prefetch = 2;  // endless stream; the worker fills the queue and waits
  std::atomic<int> built{0};
  {
    StreamingReader<int> reader(order, RankSlice{10, 0, 1}, [&built](const std::vector<int64_t>&) {
      return ++built;
    }, options);
    EXPECT_EQ(reader.next()->batch, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // the destructor must not hang
  EXPECT_LE(built.load(), 4);  // bounded: one consumed + queue of 2 + at most one in flight
}

TEST(StreamingReader, ReportsEpochAndResumePoint) {
  SampleOrder order(10, 3);
  ReaderOptions options;
  options.total_samples = 20;
  options.prefetch = 1;
  StreamingReader<int> reader(order, RankSlice{4, 1, 2}, [](const std::vector<int64_t>& s) {
    return static_cast<int>(s.size());
  }, options);
  std::vector<int64_t> consumed, epochs;
  while (auto b = reader.next()) {
    EXPECT_EQ(b->batch, 2);
    consumed.push_back(b->consumed_after);
    epochs.push_back(b->epoch);
  }
  EXPECT_EQ(consumed, (std::vector<int64_t>{4, 8, 12, 16, 20}));
  EXPECT_EQ(epochs, (std::vector<int64_t>{0, 0, 0, 1, 1}));
}

}  // namespace
}  // namespace gensar::data
