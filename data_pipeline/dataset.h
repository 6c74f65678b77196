// The read API of an ingested dataset directory (docs/data-format.md): what every later stage
// (embedding, indexing, sample building, evaluation) codes against. Opening is read-only.
//
// Items, queries, splits and popularity are loaded at open (they are small next to the events).
// Events live in shards (users partitioned by user hash); visit them shard by shard with
// for_each_user / load_shard so memory stays bounded on big logs. events(user) is a convenience for
// random access: it loads (and keeps) the shard holding that user.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/string_column.h"
#include "data_pipeline/raw_log.h"

namespace gensar::data {

inline constexpr int kSchemaVersion = 1;

struct Event {
  int32_t item = 0;          // dense item index 0..I-1
  int64_t timestamp = -1;    // seconds since epoch; -1 when the source has none
  int64_t position = 0;      // the interaction's order in the source sequence
  EventKind kind = EventKind::kRec;
  int32_t query = -1;        // dense query index for search events; -1 for rec
};

// Two events from the same interaction (review): the rec click and the search click derived from
// it share timestamp and position. A search example's history must leave out its own rec click.
inline bool same_interaction(const Event& a, const Event& b) {
  return a.timestamp == b.timestamp && a.position == b.position;
}

// Index one past the last event of a user's history for the example at `target`: events are sorted
// by (timestamp, position, kind), so the events of the target's interaction are contiguous and the
// history is [0, history_end). It excludes the target and the rec click of the same interaction.
int64_t history_end(const std::vector<Event>& events, int64_t target);

enum class Task { kRec = 0, kSearch = 1 };
enum class Split { kTrain = 0, kValid = 1, kTest = 2 };
const char* task_name(Task task);    // "rec", "search"
const char* split_name(Split split); // "train", "valid", "test"

struct Example {
  int32_t user = 0;          // global dense user index
  int32_t event_index = 0;   // the target event in that user's time-ordered events
};

// Offsets + bytes: strings column as stored in HDF5. get(i) is a view into `bytes`.
using gensar::StringColumn;

// One shard in memory: its users (global indices first_user .. first_user+num_users-1) and events.
struct Shard {
  int index = 0;
  int32_t first_user = 0;
  StringColumn user_keys;
  std::vector<int64_t> user_offsets{0};  // size num_users+1 into the event columns
  std::vector<Event> events;
  int32_t num_users() const { return static_cast<int32_t>(user_keys.size()); }
  // The events of local user `local` (copied; use user_offsets + events to avoid the copy).
  std::vector<Event> user_events(int32_t local) const {
    return {events.begin() + user_offsets[local], events.begin() + user_offsets[local + 1]};
  }
};

struct ShardInfo {
  std::string file;      // "shard-00000.h5"
  int32_t first_user = 0;
  int32_t users = 0;
  int64_t events = 0;
  std::string checksum;  // "xxh64:<16 hex>" of the file bytes
};

// Dataset::verify_file for a reader that does not open the whole dataset: reads `dir`'s manifest
// (when there is one) and checks `file` against the checksum recorded there.
void verify_dataset_file(const std::string& dir, const std::string& file);

class Dataset {
 public:
  // Opens `dir` (checks schema version and that every listed file exists). Throws InputError.
  explicit Dataset(const std::string& dir);
  ~Dataset();

  const std::string& dir() const { return dir_; }
  const std::string& manifest_json() const { return manifest_text_; }  // the raw manifest
  // Recomputes the checksum of every file the manifest lists (shards, items, queries, splits,
  // candidates); throws InputError naming the first file that differs. Reads every byte.
  void verify() const;
  // Checks one file of the dataset against the checksum the manifest records for it (a shard's or
  // one of `files`); InputError naming the file on a mismatch. Files the manifest has no checksum
  // for pass. Every open of items/queries/splits, a shard or candidates.h5 goes through this.
  void verify_file(const std::string& file) const;

  int32_t num_users() const { return num_users_; }
  int32_t num_items() const { return static_cast<int32_t>(item_keys_.size()); }
  int32_t num_queries() const { return static_cast<int32_t>(queries_.size()); }
  int64_t num_rec_events() const { return rec_events_; }
  int64_t num_search_events() const { return search_events_; }

  // Items by dense index 0..I-1.
  std::string_view item_key(int32_t item) const { return item_keys_.get(item); }
  std::string_view item_title(int32_t item) const { return titles_.get(item); }
  std::string_view item_description(int32_t item) const { return descriptions_.get(item); }
  std::string_view item_brand(int32_t item) const { return brands_.get(item); }
  std::string_view item_categories(int32_t item) const { return categories_.get(item); }
  // Dense index of an item key, or -1.
  int32_t find_item(std::string_view key) const;
  // Rec click counts per item (the popularity used for negative sampling).
  const std::vector<int64_t>& item_popularity() const { return popularity_; }

  std::string_view query_text(int32_t query) const { return queries_.get(query); }

  // Shards.
  int num_shards() const { return static_cast<int>(shards_.size()); }
  const ShardInfo& shard_info(int shard) const { return shards_[shard]; }
  Shard load_shard(int shard) const;       // reads shard-NNNNN.h5 from disk
  int shard_of_user(int32_t user) const;   // which shard holds global user `user`
  // Visits users of one shard or of all shards (in global user order):
  // fn(global user index, user key, that user's time-ordered events).
  using UserVisitor =
      std::function<void(int32_t user, std::string_view key, const std::vector<Event>& events)>;
  void for_each_user_in_shard(int shard, const UserVisitor& fn) const;
  void for_each_user(const UserVisitor& fn) const;
  // Random access (loads and caches the user's shard; thread-safe).
  std::vector<Event> events(int32_t user) const;
  std::string user_key(int32_t user) const;

  // Split examples for a task, in global user order then event order.
  const std::vector<Example>& examples(Task task, Split split) const {
    return examples_[static_cast<int>(task)][static_cast<int>(split)];
  }

 private:
  std::shared_ptr<const Shard> cached_shard(int shard) const;

  std::string dir_;
  std::string manifest_text_;
  std::map<std::string, std::string> checksums_;  // file name -> "xxh64:..." from the manifest
  int32_t num_users_ = 0;
  int64_t rec_events_ = 0;
  int64_t search_events_ = 0;
  StringColumn item_keys_, titles_, descriptions_, brands_, categories_;
  std::vector<int64_t> popularity_;
  std::map<std::string, int32_t, std::less<>> item_index_;
  StringColumn queries_;
  std::vector<ShardInfo> shards_;
  std::vector<Example> examples_[2][3];
  mutable std::mutex cache_mutex_;
  mutable std::map<int, std::shared_ptr<const Shard>> shard_cache_;
};

}  // namespace gensar::data
