// Two ranks ingest the same dataset as one rank, byte for byte (run under mpirun -np 2).
#include <gtest/gtest.h>

#include "core/common/check.h"
#include "data_pipeline/dataset.h"
#include "ingest_fixtures.h"

using namespace gensar::data;
using namespace gensar::data::testing;

TEST(IngestMpi, TwoRanksEqualOneRank) {
  auto comm = world_ingest_comm();
  ASSERT_EQ(comm->size(), 2) << "run under mpirun -np 2";
  std::string dir = comm->broadcast(comm->rank() == 0 ? fresh_dir("mpi") : "", 0);

  IngestOptions o = quick_options(dir + "/one");
  o.shard_mb = 1;  // several shards, so both ranks write some
  o.input_fingerprint = fingerprint_input(datasets_dir() + "/amazon18-scientific/Scientific");
  bool ok = true;
  if (comm->rank() == 0) {
    auto reader = make_reader(ReaderSpec{"lcrec", datasets_dir() + "/amazon18-scientific/Scientific", ""});
    auto single = single_ingest_comm();
    ok = ingest(*reader, o, *single).shards > 1;
  }
  ASSERT_TRUE(comm->all_ok(ok));

  o.out = dir + "/two";
  auto reader = make_reader(ReaderSpec{"lcrec", datasets_dir() + "/amazon18-scientific/Scientific", ""});
  IngestResult r = ingest(*reader, o, *comm);
  EXPECT_EQ(r.users, 8317);  // every rank gets the figures
  EXPECT_EQ(r.rec_events, 58492);
  if (comm->rank() == 0) {
    auto one = dataset_files(dir + "/one");
    auto two = dataset_files(dir + "/two");
    EXPECT_EQ(one.size(), two.size());
    for (const auto& [name, bytes] : one) EXPECT_TRUE(two.count(name) && two[name] == bytes) << name;
  }
  // A failure on rank 0 reaches every rank as an exception (no rank hangs).
  o.out = dir + "/bad";
  o.split.protocol = "temporal";
  o.split.test_start = 5;
  auto reader2 = make_reader(ReaderSpec{"lcrec", datasets_dir() + "/amazon18-scientific/Scientific", ""});
  EXPECT_THROW(ingest(*reader2, o, *comm), gensar::Error);
  EXPECT_FALSE(fs::exists(dir + "/bad"));
  comm->all_ok(true);
}
