// Ingest's third phase (rank 0): the dataset files from the shards of phase 2 and the catalogue of
// phase 1, written into the staging directory TMP, then moved into place (docs/data-format.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data_pipeline/dataset.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/raw_log.h"

namespace gensar::data {

// What the shards' metadata files say, in shard order.
struct ShardSummary {
  nlohmann::json list = nlohmann::json::array();  // the manifest's "shards"
  std::vector<int32_t> first_users;
  size_t examples[6] = {0, 0, 0, 0, 0, 0};  // per (task, split), task-major
  int32_t users = 0;
  int64_t events = 0;
};

ShardSummary read_shard_summary(const std::string& parts, int num_shards);

// splits.h5, filled one shard at a time (examples can outnumber what the budget holds on big
// logs). Returns the split sizes for the manifest.
nlohmann::json write_splits(const std::string& tmp, const std::string& parts, const ShardSummary& shards);

// items.h5 and queries.h5.
void write_items_and_queries(const std::string& tmp, const std::vector<RawItem>& catalogue,
                             const std::vector<int64_t>& popularity, const StringColumn& query_texts);

struct SourceCounts {
  size_t items = 0, queries = 0;
  int64_t rec_events = 0, search_events = 0;
};

// The manifest, "complete": false; its file checksums are of TMP's items, queries and splits.
nlohmann::json make_manifest(const RawReader& reader, const IngestOptions& o, bool derive,
                             const std::string& config_hash, const SourceCounts& counts,
                             const ShardSummary& shards, const nlohmann::json& split_sizes,
                             const std::string& tmp);

// Replaces any previous output only now, so a failure before leaves it untouched.
void move_into_place(const std::string& tmp, const std::string& out);

}  // namespace gensar::data
