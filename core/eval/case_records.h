// Per-case evaluation results, one JSON object per line, so two runs can be compared case by case:
// {"case_id":"u123","protocol":"candidates","task":"rec","target":42,"rank":3,
//  "items":[7,9,42,...],"scores":[-0.1,-0.4,...]}
// rank is 1-based, 0 when the target was not retrieved. protocol may be "" (then omitted).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace gensar::eval {

struct CaseRecord {
  std::string case_id;
  std::string protocol;  // "candidates" (100 fixed candidates) or "full" (catalogue), or ""
  std::string task;      // "rec" / "search" / ...
  int64_t target = -1;
  int64_t rank = 0;
  std::vector<int64_t> items;  // ranked
  std::vector<double> scores;  // sequence scores, aligned with items (may be empty)

  // "<protocol>/<task>" or "<task>": the group its metrics are reported under.
  std::string group() const { return protocol.empty() ? task : protocol + "/" + task; }
};

// Fills rank from items and target.
CaseRecord make_case_record(std::string case_id, std::string protocol, std::string task,
                            int64_t target, std::vector<int64_t> items,
                            std::vector<double> scores = {});

std::string case_record_to_json(const CaseRecord& record);  // one line, no newline
void write_case_records(std::ostream& out, const std::vector<CaseRecord>& records);
void write_case_records(const std::string& path, const std::vector<CaseRecord>& records);
// Reads a JSONL file; errors name the file, line and field.
std::vector<CaseRecord> read_case_records(const std::string& path);
// A run's per-case results: `path` is one JSONL file, or a directory whose *.jsonl files are read
// in name order and concatenated.
std::vector<CaseRecord> read_run_case_records(const std::string& path);

}  // namespace gensar::eval
