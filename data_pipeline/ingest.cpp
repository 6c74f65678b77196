#include "data_pipeline/ingest.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/log.h"
#include "core/common/read_file.h"
#include "data_pipeline/candidates.h"
#include "data_pipeline/checksum.h"
#include "data_pipeline/ingest_dataset.h"
#include "data_pipeline/ingest_shard.h"
#include "data_pipeline/query_words.h"
#include "data_pipeline/string_index.h"
#include "distributed/watchdog.h"

namespace gensar::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kTag = "ingest";

// Error messages and source names may hold bytes that are not UTF-8 (a title with 0xff quoted in a
// parse error): nlohmann's dump() throws on them, which once skipped the cleanup and the broadcast
// that the other ranks wait for. Invalid bytes become U+FFFD instead.
std::string dump_text(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// A run killed before its rename leaves OUT.tmp-PID (or OUT.old-PID beside a complete OUT): gone
// once no process with that id is alive on this host (a concurrent ingest's directory is kept).
void remove_stale_temporaries(const fs::path& out) {
  std::error_code ec;
  const fs::path parent = out.parent_path();
  const std::string base = out.filename().string();
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    for (const char* marker : {".tmp-", ".old-"}) {
      const std::string prefix = base + marker;
      if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) continue;
      const std::string digits = name.substr(prefix.size());
      if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(digits));
      if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      if (std::string(marker) == ".old-" && !fs::exists(out / "manifest.json", ec)) continue;
      GENSAR_WARN(kTag, "removing {} left by a killed ingest (process {} is gone)",
                  entry.path().string(), pid);
      fs::remove_all(entry.path(), ec);
    }
  }
}


// ---- Phase 1: the source, streamed into hash buckets (rank 0) ----------------------------------


class BucketSink : public RawSink {
 public:
  BucketSink(const IngestOptions& o, const std::string& parts, bool derive_search,
             std::string source)
      : options_(o), derive_(derive_search), source_(std::move(source)) {
    // Write buffers take at most 1/16 of the budget (and 256 KiB per bucket: more gains nothing).
    size_t per_bucket = static_cast<size_t>(o.memory_budget_mb) * (1 << 20) / 16 / o.buckets;
    per_bucket = std::clamp<size_t>(per_bucket, 4 << 10, 256 << 10);
    files_.resize(o.buckets);
    buffers_.resize(o.buckets);
    bucket_bytes_.assign(o.buckets, 0);
    bucket_events_.assign(o.buckets, 0);
    for (int b = 0; b < o.buckets; ++b) {
      std::string path = bucket_path(parts, b);
      files_[b] = std::fopen(path.c_str(), "wb");
      GENSAR_CHECK(files_[b] != nullptr, "cannot create {}: {}", path, std::strerror(errno));
      buffers_[b].reset(new char[per_bucket]);  // uninitialised: no page touched before use
      std::setvbuf(files_[b], buffers_[b].get(), _IOFBF, per_bucket);
    }
  }
  ~BucketSink() override {
    for (auto& f : files_) if (f) std::fclose(f);
  }

  void close() {
    for (auto& f : files_) {
      if (f) {
        GENSAR_CHECK(std::fclose(f) == 0, "closing a bucket file failed (disk full?)");
        f = nullptr;
      }
    }
  }

  void item(RawItem&& item) override {
    GENSAR_INPUT_CHECK(!item.id.empty(), "{}: item with an empty key", source_);
    GENSAR_INPUT_CHECK(events_seen_ == 0,
                       "{}: item '{}' comes after events; readers must emit every item first",
                       source_, item.id);
    GENSAR_INPUT_CHECK(item_index_.find(item.id) < 0, "{}: duplicate item key '{}'", source_, item.id);
    const int32_t id = static_cast<int32_t>(items_.size());
    items_.push_back(std::move(item));
    item_index_.insert(items_.back().id, id);
    popularity_.push_back(0);
    item_query_.push_back(-2);
  }

  void event(RawEvent&& e) override {
    ++events_seen_;
    GENSAR_INPUT_CHECK(!e.user.empty(), "{}: event with an empty user key", source_);
    const int32_t item = item_index_.find(e.item);
    GENSAR_INPUT_CHECK(item >= 0, "{}: unknown item '{}' in the events of user '{}'",
                       source_, e.item, e.user);
    int32_t query = -1;
    if (e.kind == EventKind::kSearch) {
      GENSAR_INPUT_CHECK(!e.query.empty(), "{}: search event of user '{}' has no query text",
                         source_, e.user);
      query = query_id(e.query);
    } else {
      ++popularity_[item];
    }
    write(e.user, FixedPart{item, e.timestamp, e.position, static_cast<uint8_t>(e.kind), query});
    if (derive_ && e.kind == EventKind::kRec && selected(e)) {
      int32_t q = derived_query(item);
      if (q >= 0) write(e.user, FixedPart{item, e.timestamp, e.position,
                                          static_cast<uint8_t>(EventKind::kSearch), q});
    }
  }

  std::vector<RawItem> items_;
  std::vector<int64_t> popularity_;
  StringColumn queries_;
  std::vector<int64_t> bucket_bytes_, bucket_events_;
  int64_t rec_events_ = 0, search_events_ = 0;

 private:
  int32_t query_id(const std::string& text) {
    const int32_t found = query_index_.find(text);
    if (found >= 0) return found;
    const int32_t id = static_cast<int32_t>(queries_.size());
    queries_.push_back(text);
    query_index_.insert(text, id);
    return id;
  }
  int32_t derived_query(int32_t item) {
    if (item_query_[item] == -2) {
      std::string q = query_for_item(items_[item]);
      item_query_[item] = q.empty() ? -1 : query_id(q);
    }
    return item_query_[item];
  }
  // Which interactions also count as searches: all, none, or a seeded hash of (user, position).
  bool selected(const RawEvent& e) const {
    if (options_.search_events == "all") return true;
    if (options_.search_events == "none") return false;
    std::string key = fmt::format("{}\x1f{}\x1f{}", e.user, e.position, e.timestamp);
    double u = static_cast<double>(xxh64(key, options_.seed) >> 11) * 0x1.0p-53;
    return u < options_.search_fraction;
  }
  void write(const std::string& user, const FixedPart& p) {
    // Readers emit a user's events together: hash the key once per run of its events.
    if (user != bucket_user_) {
      bucket_user_ = user;
      bucket_ = static_cast<int>(xxh64(user) % static_cast<uint64_t>(options_.buckets));
    }
    const int b = bucket_;
    std::FILE* f = files_[b];
    uint32_t len = static_cast<uint32_t>(user.size());
    // One record, one unlocked write (the sink is single-threaded).
    record_.resize(4 + len + kFixedBytes);
    char* r = record_.data();
    std::memcpy(r, &len, 4);
    std::memcpy(r + 4, user.data(), len);
    char* fixed = r + 4 + len;
    std::memcpy(fixed, &p.item, 4);
    std::memcpy(fixed + 4, &p.timestamp, 8);
    std::memcpy(fixed + 12, &p.position, 8);
    std::memcpy(fixed + 20, &p.kind, 1);
    std::memcpy(fixed + 21, &p.query, 4);
    bool ok = fwrite_unlocked(r, record_.size(), 1, f) == 1;
    GENSAR_CHECK(ok, "writing bucket {} failed (disk full?)", b);
    bucket_bytes_[b] += 4 + len + kFixedBytes;
    ++bucket_events_[b];
    if (p.kind == static_cast<uint8_t>(EventKind::kRec)) ++rec_events_; else ++search_events_;
  }

  const IngestOptions& options_;
  bool derive_;
  std::string source_;
  // The keys stay in items_ and queries_ (declared above, so they outlive the indexes).
  struct ItemKey {
    const std::vector<RawItem>* items;
    std::string_view operator()(int32_t id) const { return (*items)[id].id; }
  };
  struct QueryKey {
    const StringColumn* queries;
    std::string_view operator()(int32_t id) const { return queries->get(id); }
  };
  StringIndex<ItemKey> item_index_{ItemKey{&items_}};
  StringIndex<QueryKey> query_index_{QueryKey{&queries_}};
  std::vector<int32_t> item_query_;  // -2 not computed yet, -1 no query words
  std::vector<std::FILE*> files_;
  std::vector<std::unique_ptr<char[]>> buffers_;
  int64_t events_seen_ = 0;
  std::string record_;
  std::string bucket_user_;  // the last user written, and its bucket
  int bucket_ = 0;
};

// ---- helpers ------------------------------------------------------------------------------------

std::string config_text(const RawReader& reader, const IngestOptions& o, bool derive,
                        int64_t shard_bytes) {
  json j = {{"source", reader.source()},
            {"input", o.input_fingerprint},
            {"schema_version", kSchemaVersion},
            {"search_events", derive ? o.search_events : "from-source"},
            {"search_fraction", o.search_events == "fraction" ? o.search_fraction : 1.0},
            {"split", o.split.protocol},
            {"min_prior_rec", o.split.min_prior_rec},
            {"min_prior_search", o.split.min_prior_search},
            {"test_start", o.split.test_start},
            {"valid_start", o.split.valid_start},
            {"buckets", o.buckets},
            {"shard_bytes", shard_bytes},
            {"seed", o.seed},
            {"candidates", o.candidates},
            {"candidate_negatives", o.candidate_negatives},
            {"bm25_fields", o.bm25_fields}};
  return dump_text(j);
}

bool up_to_date(const std::string& out, const std::string& hash) {
  std::string manifest = (fs::path(out) / "manifest.json").string();
  if (!fs::exists(manifest)) return false;
  try {
    json m = json::parse(read_file(manifest));
    return m.value("config_hash", "") == hash && m.value("complete", false);
  } catch (const json::exception&) {
    return false;
  }
}

void write_manifest(const std::string& path, const json& m) { write_file_atomically(path, dump_text(m, 2) + "\n"); }

// ---- Phase 1 result: the shard plan --------------------------------------------------------------

// Runs of consecutive non-empty buckets of about `shard_bytes` each: [first, end) bucket pairs.
json plan_shards(const BucketSink& sink, int buckets, int64_t shard_bytes) {
  json shards = json::array();
  int first = -1;
  int64_t bytes = 0;
  for (int b = 0; b < buckets; ++b) {
    if (sink.bucket_events_[b] == 0) continue;
    if (first >= 0 && bytes + sink.bucket_bytes_[b] > shard_bytes) {
      shards.push_back({first, b});
      first = -1;
      bytes = 0;
    }
    if (first < 0) first = b;
    bytes += sink.bucket_bytes_[b];
    if (sink.bucket_bytes_[b] > shard_bytes)
      GENSAR_WARN(kTag, "bucket {} holds {} MiB, above the shard size; raise --buckets", b,
                  sink.bucket_bytes_[b] >> 20);
  }
  if (first >= 0) shards.push_back({first, buckets});
  return shards;
}

IngestResult counts_of(const Dataset& d) {
  IngestResult r;
  r.users = d.num_users();
  r.items = d.num_items();
  r.queries = d.num_queries();
  r.rec_events = d.num_rec_events();
  r.search_events = d.num_search_events();
  r.shards = d.num_shards();
  return r;
}

// Every rank returns the same figures: rank 0's.
void share_counts(IngestComm& comm, IngestResult& result) {
  json counts = {{"u", result.users}, {"i", result.items}, {"q", result.queries},
                 {"r", result.rec_events}, {"s", result.search_events}, {"n", result.shards}};
  counts = json::parse(comm.broadcast(dump_text(counts), 0));
  result.users = counts["u"];
  result.items = counts["i"];
  result.queries = counts["q"];
  result.rec_events = counts["r"];
  result.search_events = counts["s"];
  result.shards = counts["n"];
}


}  // namespace

void validate(const IngestOptions& o) {
  GENSAR_INPUT_CHECK(!o.out.empty(), "--out is required");
  GENSAR_INPUT_CHECK(o.search_events == "all" || o.search_events == "fraction" ||
                         o.search_events == "none",
                     "--search-events: '{}' is not one of all, fraction, none", o.search_events);
  GENSAR_INPUT_CHECK(o.search_fraction >= 0 && o.search_fraction <= 1,
                     "--search-fraction {} is outside [0, 1]", o.search_fraction);
  GENSAR_INPUT_CHECK(o.memory_budget_mb >= 16, "--memory-budget-mb {} is below 16", o.memory_budget_mb);
  GENSAR_INPUT_CHECK(o.buckets >= 1 && o.buckets <= 4096, "--buckets {} is outside [1, 4096]", o.buckets);
  GENSAR_INPUT_CHECK(o.shard_mb >= 1, "--shard-mb must be >= 1");
  validate(o.split);
}

std::string fingerprint_input(const std::string& path) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::path p(path);
  if (fs::is_regular_file(p, ec)) {
    files.push_back(p);
  } else if (fs::is_directory(p, ec)) {
    for (const auto& entry : fs::directory_iterator(p, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
  } else if (fs::is_directory(p.parent_path().empty() ? "." : p.parent_path(), ec)) {
    std::string prefix = p.filename().string();
    for (const auto& entry : fs::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec))
      if (entry.is_regular_file() && entry.path().filename().string().rfind(prefix, 0) == 0)
        files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) {
    auto size = fs::file_size(f, ec);
    auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    text += fmt::format("{}:{}:{};", fs::absolute(f).string(), size, mtime);
  }
  return text;
}

IngestResult ingest(RawReader& reader, const IngestOptions& o, IngestComm& comm) {
  validate(o);
  const auto t0 = std::chrono::steady_clock::now();
  const bool derive = !reader.has_search_events() && o.search_events != "none";
  const int64_t shard_bytes =
      std::min<int64_t>(o.shard_mb << 20, (o.memory_budget_mb << 20) / 4);
  IngestResult result;
  result.config_hash = xxh64_hex(xxh64(config_text(reader, o, derive, shard_bytes)));

  // Rank 0 decides (skip or build, where) and tells everyone.
  fs::path out_path = fs::absolute(o.out).lexically_normal();
  if (out_path.filename().empty()) out_path = out_path.parent_path();  // "dir/" -> "dir"
  const std::string out = out_path.string();
  json plan;
  if (comm.rank() == 0) {
    try {
      remove_stale_temporaries(out_path);
      bool skip = !o.force && up_to_date(out, result.config_hash);
      plan = {{"skip", skip}, {"tmp", fmt::format("{}.tmp-{}", out, ::getpid())}};
    } catch (const std::exception& e) {
      plan = {{"error", e.what()}};
    }
  }
  plan = json::parse(comm.broadcast(dump_text(plan), 0));
  if (plan.contains("error"))
    throw Error(fmt::format("ingest of {} failed on rank 0: {}", out, plan["error"].get<std::string>()));
  if (plan.at("skip").get<bool>()) {
    GENSAR_INFO(kTag, "{} is up to date (config hash {}); --force redoes it", out, result.config_hash);
    IngestResult existing = counts_of(Dataset(out));
    existing.config_hash = result.config_hash;
    existing.skipped = true;
    return existing;
  }
  const std::string tmp = plan.at("tmp").get<std::string>();
  const std::string parts = tmp + "/parts";
  auto cleanup = [&] {
    std::error_code ec;
    if (comm.rank() == 0) fs::remove_all(tmp, ec);
  };
  // Whatever leaves this function early (an exception on any path) removes the staging directory;
  // after the final rename it no longer exists and this does nothing. Declared before the bucket
  // files so that they are closed first.
  struct Cleanup {
    std::function<void()> fn;
    ~Cleanup() { fn(); }
  } cleanup_on_exit{cleanup};

  // Phase 1: rank 0 streams the source into buckets and plans the shards.
  std::unique_ptr<BucketSink> sink;
  std::exception_ptr failure;
  if (comm.rank() == 0) {
    try {
      fs::create_directories(parts);
      sink = std::make_unique<BucketSink>(o, parts, derive, reader.source());
      GENSAR_INFO(kTag, "reading {} into {} buckets", reader.source(), o.buckets);
      reader.read(*sink);
      sink->close();
      GENSAR_INPUT_CHECK(!sink->items_.empty(), "{}: no items", reader.source());
      GENSAR_INPUT_CHECK(sink->rec_events_ + sink->search_events_ > 0, "{}: no events",
                         reader.source());
      const json shards = plan_shards(*sink, o.buckets, shard_bytes);
      plan = {{"shards", shards}};
      GENSAR_INFO(kTag, "{} items, {} queries, {} rec + {} search events -> {} shards",
                  sink->items_.size(), sink->queries_.size(), sink->rec_events_,
                  sink->search_events_, shards.size());
    } catch (const std::exception& e) {
      failure = std::current_exception();
      plan = {{"error", e.what()}};
    } catch (...) {
      failure = std::current_exception();
      plan = {{"error", "unknown exception while reading " + reader.source()}};
    }
  }
  {
    // The others wait here while rank 0 reads the whole source: that is work, not a stall.
    dist::LongPhaseWait long_phase_wait("rank 0 reading the raw log");
    plan = json::parse(comm.broadcast(dump_text(plan), 0));
  }
  if (plan.contains("error")) {
    sink.reset();
    cleanup();
    if (failure) std::rethrow_exception(failure);
    throw Error("ingest failed on rank 0: " + plan["error"].get<std::string>());
  }
  const json shards = plan.at("shards");
  const int num_shards = static_cast<int>(shards.size());

  // Phase 2: every rank builds its share of the shards.
  bool ok = true;
  try {
    for (int s = comm.rank(); s < num_shards; s += comm.size()) {
      build_shard(tmp, parts, s, shards[s][0].get<int>(), shards[s][1].get<int>(), o.split);
    }
  } catch (...) {
    ok = false;
    failure = std::current_exception();
  }
  if (!comm.all_ok(ok)) {
    sink.reset();
    cleanup();
    if (failure) std::rethrow_exception(failure);
    throw Error("ingest failed on another rank");
  }

  // Phase 3: rank 0 assembles the dataset and renames it into place.
  if (comm.rank() == 0) {
    try {
      const ShardSummary summary = read_shard_summary(parts, num_shards);
      GENSAR_CHECK(summary.events == sink->rec_events_ + sink->search_events_,
                   "shards hold {} events, the source gave {}", summary.events,
                   sink->rec_events_ + sink->search_events_);
      const json split_sizes = write_splits(tmp, parts, summary);
      write_items_and_queries(tmp, sink->items_, sink->popularity_, sink->queries_);
      const SourceCounts counts{sink->items_.size(), sink->queries_.size(), sink->rec_events_,
                                sink->search_events_};
      json manifest = make_manifest(reader, o, derive, result.config_hash, counts, summary, split_sizes, tmp);
      fs::remove_all(parts);
      // Candidates read the dataset through Dataset, which needs a manifest.
      write_manifest(tmp + "/manifest.json", manifest);
      if (o.candidates) {
        CandidateOptions co;
        co.negatives = o.candidate_negatives;
        co.bm25_fields = parse_bm25_fields(o.bm25_fields);
        co.seed = o.seed;
        co.threads = o.threads;
        write_eval_candidates(tmp, co);
        manifest["files"]["candidates.h5"] = file_checksum(tmp + "/candidates.h5");
      }
      manifest["complete"] = true;
      write_manifest(tmp + "/manifest.json", manifest);

      move_into_place(tmp, out);

      result.users = summary.users;
      result.items = static_cast<int64_t>(sink->items_.size());
      result.queries = static_cast<int64_t>(sink->queries_.size());
      result.rec_events = sink->rec_events_;
      result.search_events = sink->search_events_;
      result.shards = num_shards;
    } catch (...) {
      ok = false;
      failure = std::current_exception();
    }
  }
  if (!comm.all_ok(ok)) {
    cleanup();
    if (failure) std::rethrow_exception(failure);
    throw Error("ingest failed on rank 0");
  }
  result.shards = num_shards;
  share_counts(comm, result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  GENSAR_INFO(kTag, "wrote {}: {} users, {} items, {} events in {} shards ({:.1f} s)", out,
              result.users, result.items, result.rec_events + result.search_events, result.shards,
              result.seconds);
  return result;
}

}  // namespace gensar::data
