// The runs a report compares, found from the paths given to `gensar report` (metrics files,
// workdirs, sweep directories; see launch/report.cpp for what each one contributes).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gensar::launch {

struct ReportRun {
  std::string label;
  bool baseline = false;
  std::filesystem::path metrics_file;
  std::string canonical;           // of the metrics file: shared baselines are links to one file
  nlohmann::json metrics;          // {"<protocol>": {"rec.hr@10": x, ...}}
  std::string cases;               // per-case JSONL file or directory, "" if none
  std::filesystem::path workdir;   // own models of a workdir: where run/ and identifiers.report.json are
};

// In command-line order; InputError naming the path when one is neither a metrics file, a workdir
// nor a sweep directory.
std::vector<ReportRun> collect_report_runs(const std::vector<std::string>& paths);

// A JSON object from `path`; InputError naming the file otherwise.
nlohmann::json read_json_object(const std::filesystem::path& path);

}  // namespace gensar::launch
