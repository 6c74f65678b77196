// Finding the evaluated runs that `gensar report` compares: a DIR is a metrics file (X.json), a
// workdir (metrics/*.json: gensar.json is the workdir's own model, named after the workdir; the
// others are baselines named by file), or a sweep directory (its sub-directories that are
// workdirs, in the order of its variants.txt). docs/sweeps.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gensar::eval {

// One evaluated model or baseline.
struct EvaluatedRun {
  std::string label;
  bool baseline = false;
  std::filesystem::path metrics_file;
  std::string canonical;           // of the metrics file: shared baselines are links to one file
  nlohmann::json metrics;          // {"<protocol>": {"rec.hr@10": x, ...}}
  std::string cases;               // per-case JSONL file or directory, "" if none
  std::filesystem::path workdir;   // own models of a workdir: where run/ and
                                   // identifiers.report.json are
};

// The runs under `paths`: own models first (in the order given), then baselines; a baseline
// shared by several workdirs (the same file through links) appears once; labels are unique.
std::vector<EvaluatedRun> find_runs(const std::vector<std::string>& paths);

// A JSON object from `path`; errors name the file.
nlohmann::json read_json_object(const std::filesystem::path& path);

}  // namespace gensar::eval
