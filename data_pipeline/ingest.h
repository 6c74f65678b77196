// `gensar ingest`: a raw log (through a RawReader) to a dataset directory (docs/ingest.md,
// docs/data-format.md). Out of core: events are streamed into hash buckets on disk (bucket =
// xxh64(user) % buckets), consecutive buckets form shards sized to the memory budget, and each shard
// is loaded, grouped by user, sorted and written alone. Only the item and query dictionaries are
// global. Under mpirun rank 0 reads the source; every rank then writes a share of the shards; rank 0
// writes items, queries, splits, candidates and the manifest, then renames the temporary directory.
#pragma once

#include <cstdint>
#include <string>

#include "data_pipeline/ingest_comm.h"
#include "data_pipeline/raw_log.h"
#include "data_pipeline/splits.h"

namespace gensar::data {

struct IngestOptions {
  std::string out;                       // dataset directory to create
  std::string search_events = "all";     // all | fraction | none (sources without own queries)
  double search_fraction = 1.0;          // share of interactions that also yield a search event
  SplitOptions split;
  int64_t memory_budget_mb = 1024;
  int buckets = 256;                     // hash buckets (temporary files); shards group buckets
  int64_t shard_mb = 64;                 // target temporary bytes per shard (capped by the budget)
  uint64_t seed = 2025;                  // search-event selection and eval candidates
  bool force = false;                    // redo even if the manifest's config hash matches
  bool candidates = true;                // write candidates.h5 (when built with candidates.h)
  int candidate_negatives = 99;
  std::string bm25_fields = "title-description";  // search negatives' BM25 document (bm25.h)
  int threads = 1;                       // candidate workers
  // Extra text mixed into the config hash (the input fingerprint: paths, sizes, mtimes).
  std::string input_fingerprint;
};

struct IngestResult {
  bool skipped = false;   // output already up to date
  int64_t users = 0, items = 0, queries = 0, rec_events = 0, search_events = 0;
  int shards = 0;
  double seconds = 0;
  std::string config_hash;
};

void validate(const IngestOptions& options);

// Collective over `comm`: every rank calls it; only rank 0's `reader` is read.
IngestResult ingest(RawReader& reader, const IngestOptions& options, IngestComm& comm);

// Hash of the files a path names: a file, a directory's files, or a prefix's siblings
// (PREFIX*). Sizes and modification times, not contents (cheap on big logs).
std::string fingerprint_input(const std::string& path);

}  // namespace gensar::data
