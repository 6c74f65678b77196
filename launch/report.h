// The cross-run report behind `gensar report`, callable without the verb: `gensar pipeline` writes
// a workdir's page with it. docs/sweeps.md (tables, significance) and docs/operations.md (the page).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gensar::launch {

struct ReportOptions {
  std::vector<std::string> dirs;  // sweep directories, workdirs or metrics JSON files
  std::string reference;          // "" = gensar-full, else the first own model
  int64_t resamples = 2000;       // randomisation test (0 = paired t-test); also sizes the bootstrap
  uint64_t seed = 2024;
};

struct ReportOutput {
  std::string text;      // the tables `gensar report` prints
  std::string markdown;  // --markdown
  nlohmann::json json;   // --json / --json-out
  std::string html;      // --html: one self-contained page
};

ReportOutput build_report(const ReportOptions& options);

}  // namespace gensar::launch
