// gensar report DIR...: the tables of build_report (launch/report.h) printed, and written as
// markdown, JSON or one HTML page on request. docs/sweeps.md.
#include <cstdio>
#include <iostream>

#include "core/common/atomic_file.h"
#include "launch/report.h"
#include "launch/verbs.h"

namespace gensar::launch {

int run_report(const po::variables_map& vm) {
  ReportOptions options;
  if (vm.count("dirs")) options.dirs = vm["dirs"].as<std::vector<std::string>>();
  options.reference = vm["reference"].as<std::string>();
  options.resamples = vm["resamples"].as<int64_t>();
  options.seed = vm["seed"].as<uint64_t>();
  const ReportOutput r = build_report(options);
  if (vm["json"].as<bool>()) {
    std::cout << r.json.dump(2) << "\n";
  } else {
    std::cout << r.text;
  }
  if (const std::string path = vm["markdown"].as<std::string>(); !path.empty())
    write_file_atomically(path, r.markdown);
  if (const std::string path = vm["json-out"].as<std::string>(); !path.empty())
    write_file_atomically(path, r.json.dump(2) + "\n");
  if (const std::string path = vm["html"].as<std::string>(); !path.empty()) {
    write_file_atomically(path, r.html);
    // On stderr, so `--json` output stays one document.
    std::fprintf(stderr, "report: %s\n", path.c_str());
  }
  return 0;
}

void add_report_options(po::options_description& d) {
  d.add_options()
      ("dirs", po::value<std::vector<std::string>>()->composing(),
       "sweep directories, workdirs or metrics JSON files (also positional)")
      ("reference", po::value<std::string>()->default_value(""),
       "run the significance tests compare against (default gensar-full, else the first run)")
      ("markdown", po::value<std::string>()->default_value(""), "write the tables as markdown")
      ("json-out", po::value<std::string>()->default_value(""), "write the tables as JSON")
      ("html", po::value<std::string>()->default_value(""),
       "write one self-contained HTML page: tables with 95% intervals, per-metric bar charts, "
       "training curves, identifier report")
      ("json", po::bool_switch()->default_value(false), "print JSON instead of text tables")
      ("resamples", po::value<int64_t>()->default_value(2000),
       "randomisation resamples of the significance test (0 = paired t-test)")
      ("seed", po::value<uint64_t>()->default_value(2024), "seed of the resampling");
}

}  // namespace gensar::launch
