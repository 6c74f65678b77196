// Ingest's intermediate files and its second phase. Rank 0 streams the source into hash buckets
// (PARTS/bucket-NNNNN.bin: per event a u32 user-key length, the key, then FixedPart); every rank then
// turns runs of buckets into shards: TMP/shard-NNNNN.h5, and in PARTS the shard's split examples
// (examples-NNNNN.bin) and a metadata line (shard-NNNNN.json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "data_pipeline/dataset.h"
#include "data_pipeline/splits.h"

namespace gensar::data {

// The fixed part of one bucket record.
struct FixedPart {
  int32_t item;
  int64_t timestamp;
  int64_t position;
  uint8_t kind;
  int32_t query;
};
constexpr size_t kFixedBytes = 4 + 8 + 8 + 1 + 4;

inline std::string bucket_path(const std::string& parts, int b) {
  return fmt::format("{}/bucket-{:05d}.bin", parts, b);
}
inline std::string shard_name(int s) { return fmt::format("shard-{:05d}.h5", s); }

struct ShardMeta {
  int32_t users = 0;
  int64_t events = 0;
  std::string checksum;
};

// Shard `shard` from buckets [first_bucket, last_bucket): any rank, any order.
ShardMeta build_shard(const std::string& tmp, const std::string& parts, int shard, int first_bucket,
                      int last_bucket, const SplitOptions& split);

// A shard's examples, with user indices made global by `user_offset`.
void read_examples(const std::string& path, int32_t user_offset, std::vector<Example> (&ex)[2][3]);

}  // namespace gensar::data
