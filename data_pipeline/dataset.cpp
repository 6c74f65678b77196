#include "data_pipeline/dataset.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/check.h"
#include "core/common/h5.h"
#include "data_pipeline/checksum.h"

namespace gensar::data {

namespace fs = std::filesystem;

int64_t history_end(const std::vector<Event>& events, int64_t target) {
  GENSAR_CHECK(target >= 0 && target < static_cast<int64_t>(events.size()),
               "target {} outside a sequence of {} events", target, events.size());
  int64_t end = target;
  while (end > 0 && same_interaction(events[end - 1], events[target])) --end;
  return end;
}

const char* task_name(Task task) { return task == Task::kRec ? "rec" : "search"; }
const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kValid: return "valid";
    default: return "test";
  }
}

Dataset::Dataset(const std::string& dir) : dir_(dir) {
  std::string manifest_path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(manifest_path);
  GENSAR_INPUT_CHECK(in.good(), "{}: no manifest.json (not a dataset directory, or ingest did not finish)",
                     dir);
  std::stringstream ss;
  ss << in.rdbuf();
  manifest_text_ = ss.str();
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(manifest_text_);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed JSON: {}", manifest_path, e.what()));
  }
  try {
    int version = m.at("schema_version").get<int>();
    GENSAR_INPUT_CHECK(version == kSchemaVersion, "{}: schema_version {} (this build reads {})",
                       manifest_path, version, kSchemaVersion);
    const auto& counts = m.at("counts");
    num_users_ = counts.at("users").get<int32_t>();
    rec_events_ = counts.at("rec_events").get<int64_t>();
    search_events_ = counts.at("search_events").get<int64_t>();
    for (const auto& s : m.at("shards")) {
      ShardInfo info;
      info.file = s.at("file").get<std::string>();
      info.first_user = s.at("first_user").get<int32_t>();
      info.users = s.at("users").get<int32_t>();
      info.events = s.at("events").get<int64_t>();
      info.checksum = s.at("checksum").get<std::string>();
      GENSAR_INPUT_CHECK(fs::exists(fs::path(dir) / info.file), "{}: shard file {} is missing", dir,
                         info.file);
      checksums_[info.file] = info.checksum;
      shards_.push_back(info);
    }
    if (m.contains("files"))
      for (const auto& [file, sum] : m.at("files").items()) checksums_[file] = sum.get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: missing or bad field: {}", manifest_path, e.what()));
  }

  for (const char* file : {"items.h5", "queries.h5", "splits.h5"}) verify_file(file);
  h5::File items = h5::File::open((fs::path(dir) / "items.h5").string());
  item_keys_ = items.read_column("key");
  titles_ = items.read_column("title");
  descriptions_ = items.read_column("description");
  brands_ = items.read_column("brand");
  categories_ = items.read_column("categories");
  popularity_ = items.read<int64_t>("popularity");
  for (size_t i = 0; i < item_keys_.size(); ++i)
    item_index_.emplace(std::string(item_keys_.get(i)), static_cast<int32_t>(i));

  h5::File queries = h5::File::open((fs::path(dir) / "queries.h5").string());
  queries_ = queries.read_column("text");

  h5::File splits = h5::File::open((fs::path(dir) / "splits.h5").string());
  for (Task task : {Task::kRec, Task::kSearch}) {
    for (Split split : {Split::kTrain, Split::kValid, Split::kTest}) {
      std::string base = std::string(task_name(task)) + "/" + split_name(split);
      auto users = splits.read<int32_t>(base + "/user");
      auto index = splits.read<int32_t>(base + "/event_index");
      GENSAR_INPUT_CHECK(users.size() == index.size(), "{}: {} has {} users but {} event indices",
                         splits.path(), base, users.size(), index.size());
      auto& out = examples_[static_cast<int>(task)][static_cast<int>(split)];
      out.resize(users.size());
      for (size_t i = 0; i < users.size(); ++i) out[i] = Example{users[i], index[i]};
    }
  }
}

Dataset::~Dataset() = default;

void verify_dataset_file(const std::string& dir, const std::string& file) {
  const fs::path manifest_path = fs::path(dir) / "manifest.json";
  std::ifstream in(manifest_path);
  if (!in) return;
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed JSON: {}", manifest_path.string(), e.what()));
  }
  if (!m.contains("files") || !m["files"].contains(file)) return;
  const std::string expected = m["files"][file].get<std::string>();
  const std::string actual = file_checksum((fs::path(dir) / file).string());
  GENSAR_INPUT_CHECK(actual == expected,
                     "{}/{}: checksum {} differs from the manifest's {} (the file is corrupt or was "
                     "changed after ingest; re-run ingest with --force)", dir, file, actual, expected);
}

void Dataset::verify_file(const std::string& file) const {
  auto it = checksums_.find(file);
  if (it == checksums_.end()) return;
  const std::string actual = file_checksum((fs::path(dir_) / file).string());
  GENSAR_INPUT_CHECK(actual == it->second,
                     "{}/{}: checksum {} differs from the manifest's {} (the file is corrupt or was "
                     "changed after ingest; re-run ingest with --force)", dir_, file, actual, it->second);
}

void Dataset::verify() const {
  auto check = [&](const std::string& file, const std::string& expected) {
    std::string actual = file_checksum((fs::path(dir_) / file).string());
    GENSAR_INPUT_CHECK(actual == expected, "{}/{}: checksum {} differs from the manifest's {}", dir_,
                       file, actual, expected);
  };
  for (const auto& s : shards_) check(s.file, s.checksum);
  nlohmann::json m = nlohmann::json::parse(manifest_text_);
  if (m.contains("files")) {
    for (const auto& [file, sum] : m["files"].items()) check(file, sum.get<std::string>());
  }
}

int32_t Dataset::find_item(std::string_view key) const {
  auto it = item_index_.find(key);
  return it == item_index_.end() ? -1 : it->second;
}

Shard Dataset::load_shard(int shard) const {
  GENSAR_CHECK(shard >= 0 && shard < num_shards(), "shard {} of {}", shard, num_shards());
  const ShardInfo& info = shards_[shard];
  verify_file(info.file);
  h5::File f = h5::File::open((fs::path(dir_) / info.file).string());
  Shard s;
  s.index = shard;
  s.first_user = info.first_user;
  s.user_keys = f.read_column("user_key");
  s.user_offsets = f.read<int64_t>("user_offsets");
  auto item = f.read<int32_t>("item");
  auto timestamp = f.read<int64_t>("timestamp");
  auto position = f.read<int64_t>("position");
  auto kind = f.read<uint8_t>("kind");
  auto query = f.read<int32_t>("query");
  size_t n = item.size();
  GENSAR_INPUT_CHECK(timestamp.size() == n && position.size() == n && kind.size() == n &&
                         query.size() == n,
                     "{}: event columns have different lengths", f.path());
  GENSAR_INPUT_CHECK(static_cast<int64_t>(n) == info.events &&
                         s.num_users() == info.users &&
                         s.user_offsets.size() == static_cast<size_t>(info.users) + 1 &&
                         s.user_offsets.back() == info.events,
                     "{}: has {} events / {} users, manifest says {} / {}", f.path(), n,
                     s.num_users(), info.events, info.users);
  s.events.resize(n);
  for (size_t i = 0; i < n; ++i) {
    s.events[i] = Event{item[i], timestamp[i], position[i], static_cast<EventKind>(kind[i]), query[i]};
  }
  return s;
}

int Dataset::shard_of_user(int32_t user) const {
  GENSAR_CHECK(user >= 0 && user < num_users_, "user {} of {}", user, num_users_);
  auto it = std::upper_bound(shards_.begin(), shards_.end(), user,
                             [](int32_t u, const ShardInfo& s) { return u < s.first_user; });
  return static_cast<int>(it - shards_.begin()) - 1;
}

void Dataset::for_each_user_in_shard(int shard, const UserVisitor& fn) const {
  Shard s = load_shard(shard);
  std::vector<Event> events;
  for (int32_t u = 0; u < s.num_users(); ++u) {
    events.assign(s.events.begin() + s.user_offsets[u], s.events.begin() + s.user_offsets[u + 1]);
    fn(s.first_user + u, s.user_keys.get(u), events);
  }
}

void Dataset::for_each_user(const UserVisitor& fn) const {
  for (int s = 0; s < num_shards(); ++s) for_each_user_in_shard(s, fn);
}

std::shared_ptr<const Shard> Dataset::cached_shard(int shard) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  auto it = shard_cache_.find(shard);
  if (it != shard_cache_.end()) return it->second;
  auto s = std::make_shared<const Shard>(load_shard(shard));
  shard_cache_.emplace(shard, s);
  return s;
}

std::vector<Event> Dataset::events(int32_t user) const {
  auto s = cached_shard(shard_of_user(user));
  return s->user_events(user - s->first_user);
}

std::string Dataset::user_key(int32_t user) const {
  auto s = cached_shard(shard_of_user(user));
  return std::string(s->user_keys.get(user - s->first_user));
}

}  // namespace gensar::data
