#include "data_pipeline/ingest_shard.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/h5.h"
#include "data_pipeline/checksum.h"

namespace gensar::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct LoadedEvent {
  int32_t user;
  int32_t seq;  // arrival order: the last tie-break, so the order never depends on sort stability
  Event e;
};

void write_examples(const std::string& path, std::vector<Example> (&ex)[2][3]) {
  std::ofstream out(path, std::ios::binary);
  for (auto& task : ex) {
    for (auto& list : task) {
      uint64_t n = list.size();
      out.write(reinterpret_cast<const char*>(&n), 8);
      out.write(reinterpret_cast<const char*>(list.data()),
                static_cast<std::streamsize>(n * sizeof(Example)));
    }
  }
  GENSAR_CHECK(out.good(), "writing {} failed", path);
}

}  // namespace

void read_examples(const std::string& path, int32_t user_offset, std::vector<Example> (&ex)[2][3]) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_CHECK(in.good(), "cannot open {}", path);
  for (auto& task : ex) {
    for (auto& list : task) {
      uint64_t n = 0;
      in.read(reinterpret_cast<char*>(&n), 8);
      size_t start = list.size();
      list.resize(start + n);
      in.read(reinterpret_cast<char*>(list.data() + start), static_cast<std::streamsize>(n * sizeof(Example)));
      for (size_t i = start; i < list.size(); ++i) list[i].user += user_offset;
    }
  }
  GENSAR_CHECK(in.good(), "reading {} failed", path);
}

ShardMeta build_shard(const std::string& tmp, const std::string& parts, int shard, int first_bucket,
                      int last_bucket, const SplitOptions& split) {
  StringColumn user_keys;
  std::unordered_map<std::string, int32_t> user_index;
  std::vector<LoadedEvent> events;
  std::vector<char> buf;
  std::string user;
  int32_t last_user = -1;  // id of the previous record's user
  {
    // One allocation of the right order instead of doubling: growth copied the whole vector
    // repeatedly and briefly held old and new (up to 3x the events). A record takes at least
    // 4 + 1 + kFixedBytes bytes; keys of a few bytes make this a small overestimate.
    uintmax_t bytes = 0;
    for (int b = first_bucket; b < last_bucket; ++b) bytes += fs::file_size(bucket_path(parts, b));
    events.reserve(static_cast<size_t>(bytes / (4 + 1 + kFixedBytes)));
  }
  for (int b = first_bucket; b < last_bucket; ++b) {
    std::string path = bucket_path(parts, b);
    // stdio with a large buffer and unlocked reads: an istream read per field (three per record)
    // cost more than the records' parsing.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
    GENSAR_CHECK(in != nullptr, "cannot open {}: {}", path, std::strerror(errno));
    std::setvbuf(in.get(), nullptr, _IOFBF, 1 << 20);
    uint32_t len;
    char fixed[kFixedBytes];
    while (fread_unlocked(&len, 4, 1, in.get()) == 1) {
      user.resize(len);
      const bool whole = fread_unlocked(user.data(), 1, len, in.get()) == len &&
                         fread_unlocked(fixed, kFixedBytes, 1, in.get()) == 1;
      GENSAR_CHECK(whole, "{} is truncated", path);
      // Readers emit a user's events together, so a bucket holds them in runs: only the first
      // record of a run needs the (cache-missing) map lookup.
      if (last_user < 0 || user != user_keys.get(last_user)) {
        auto [it, inserted] = user_index.emplace(user, static_cast<int32_t>(user_keys.size()));
        if (inserted) user_keys.push_back(user);
        last_user = it->second;
      }
      LoadedEvent le;
      le.user = last_user;
      le.seq = static_cast<int32_t>(events.size());
      std::memcpy(&le.e.item, fixed, 4);
      std::memcpy(&le.e.timestamp, fixed + 4, 8);
      std::memcpy(&le.e.position, fixed + 12, 8);
      uint8_t kind;
      std::memcpy(&kind, fixed + 20, 1);
      le.e.kind = static_cast<EventKind>(kind);
      std::memcpy(&le.e.query, fixed + 21, 4);
      events.push_back(le);
    }
  }
  user_index.clear();
  auto before = [](const LoadedEvent& a, const LoadedEvent& b) {
    if (a.user != b.user) return a.user < b.user;
    if (a.e.timestamp != b.e.timestamp) return a.e.timestamp < b.e.timestamp;
    if (a.e.position != b.e.position) return a.e.position < b.e.position;
    if (a.e.kind != b.e.kind) return a.e.kind < b.e.kind;
    return a.seq < b.seq;
  };
  // Sources that emit each user's events together and in time order (the synthetic generator,
  // per-user files) arrive sorted already: one linear check then saves the O(n log n) sort. The
  // order is total (seq breaks ties), so either way the result is the same.
  if (!std::is_sorted(events.begin(), events.end(), before)) std::sort(events.begin(), events.end(), before);

  const size_t n = events.size();
  const int32_t num_users = static_cast<int32_t>(user_keys.size());
  std::vector<int64_t> user_offsets(num_users + 1, 0);
  std::vector<int32_t> item(n), query(n);
  std::vector<int64_t> timestamp(n), position(n);
  std::vector<uint8_t> kind(n);
  for (size_t i = 0; i < n; ++i) {
    const Event& e = events[i].e;
    ++user_offsets[events[i].user + 1];
    item[i] = e.item;
    timestamp[i] = e.timestamp;
    position[i] = e.position;
    kind[i] = static_cast<uint8_t>(e.kind);
    query[i] = e.query;
  }
  for (int32_t u = 0; u < num_users; ++u) user_offsets[u + 1] += user_offsets[u];

  std::vector<Example> examples[2][3];
  std::vector<Event> seq;
  for (int32_t u = 0; u < num_users; ++u) {
    seq.clear();
    for (int64_t i = user_offsets[u]; i < user_offsets[u + 1]; ++i) seq.push_back(events[i].e);
    split_user(split, u, seq, examples);
  }
  events.clear();
  events.shrink_to_fit();

  std::string file = (fs::path(tmp) / shard_name(shard)).string();
  {
    h5::File f = h5::File::create(file);
    f.write_column("user_key", user_keys);
    f.write("user_offsets", user_offsets);
    f.write("item", item);
    f.write("timestamp", timestamp);
    f.write("position", position);
    f.write("kind", kind);
    f.write("query", query);
  }
  write_examples(fmt::format("{}/examples-{:05d}.bin", parts, shard), examples);
  ShardMeta meta{num_users, static_cast<int64_t>(n), file_checksum(file)};
  json counts = json::array();
  for (auto& task : examples)
    for (auto& list : task) counts.push_back(list.size());
  std::ofstream(fmt::format("{}/shard-{:05d}.json", parts, shard))
      << json{{"users", meta.users}, {"events", meta.events}, {"checksum", meta.checksum},
              {"examples", counts}}.dump();
  return meta;
}

}  // namespace gensar::data
