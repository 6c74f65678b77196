// gensar compare RUN_A RUN_B: paired significance test per metric between two evaluation runs, from
// their per-case JSONL results (a file, or a run directory whose *.jsonl files are read).
#include <cstdio>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/significance.h"
#include "launch/verbs.h"

namespace gensar::launch {

int run_compare(const po::variables_map& vm) {
  const std::string path_a = vm["run-a"].as<std::string>();
  const std::string path_b = vm["run-b"].as<std::string>();
  const int64_t resamples = vm["resamples"].as<int64_t>();
  GENSAR_INPUT_CHECK(resamples >= 0, "gensar compare: --resamples must be >= 0, got {}", resamples);
  const eval::RunComparison cmp = eval::compare_runs(
      eval::read_run_case_records(path_a), eval::read_run_case_records(path_b), resamples,
      vm["seed"].as<uint64_t>());
  GENSAR_INPUT_CHECK(cmp.paired > 0, "gensar compare: {} and {} share no (protocol, task, case_id)",
                     path_a, path_b);
  return print_json_or_table(vm, [&] { return eval::comparison_json(cmp, path_a, path_b, resamples); },
                             [&] { return eval::comparison_table(cmp, path_a, path_b); });
}

void add_compare_options(po::options_description& d) {
  d.add_options()
      ("run-a", po::value<std::string>()->required(),
       "baseline run: a per-case JSONL file, or a directory of *.jsonl files")
      ("run-b", po::value<std::string>()->required(), "run compared against RUN_A")
      ("resamples", po::value<int64_t>()->default_value(2000),
       "randomisation and bootstrap resamples (0 = t-test only)")
      ("seed", po::value<uint64_t>()->default_value(2024), "seed of the resampling")
      ("json", po::bool_switch()->default_value(false), "print JSON instead of a table");
}

}  // namespace gensar::launch
