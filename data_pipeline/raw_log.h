// The common currency of every raw-format reader: items and events as strings, before ids are
// assigned. A reader pushes into a RawSink; ingest partitions what it receives by user hash.
// Readers never hold a whole log in memory: they stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace gensar::data {

enum class EventKind : uint8_t { kRec = 0, kSearch = 1 };

struct RawItem {
  std::string id;           // the source's item key, unique per dataset
  std::string title;
  std::string description;
  std::string brand;
  std::string categories;   // category path, levels joined by ", " (broad to narrow)
};

struct RawEvent {
  std::string user;
  std::string item;
  int64_t timestamp = -1;   // seconds since epoch; -1 when the source has none
  int64_t position = 0;     // order within the user's sequence in the source (ties, no timestamps)
  EventKind kind = EventKind::kRec;
  std::string query;        // search events only
};

// Where an error was found, for messages that name file, line and field.
struct SourceLocation {
  std::string file;
  int64_t line = 0;         // 1-based; 0 when not line-oriented
  std::string field;
};

class RawSink {
 public:
  virtual ~RawSink() = default;
  virtual void item(RawItem&& item) = 0;
  virtual void event(RawEvent&& event) = 0;
};

class RawReader {
 public:
  virtual ~RawReader() = default;
  // Streams every item and event of the source into `sink`; throws InputError naming file/line/field.
  virtual void read(RawSink& sink) = 0;
  // Human-readable source description for manifest.json ("lcrec:/path/Scientific").
  virtual std::string source() const = 0;
  // Whether the source carries its own search events with queries (TSV logs, synthetic);
  // if not, ingest derives search events with the Ai et al. protocol.
  virtual bool has_search_events() const { return false; }
};

}  // namespace gensar::data
