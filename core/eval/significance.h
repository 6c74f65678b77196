// Paired significance tests between two evaluation runs over the same cases: a paired t-test, a
// sign-flip randomisation test and a bootstrap confidence interval of the mean difference, all
// seeded so a comparison is reproducible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/eval/case_records.h"

namespace gensar::eval {

struct PairedTest {
  std::string metric;  // e.g. "candidates/rec.ndcg@10"
  int64_t n = 0;
  double mean_a = 0, mean_b = 0;
  double mean_diff = 0;  // mean of (b - a)
  double t_statistic = 0;
  double t_p_value = 1;              // two-sided, Student t with n-1 degrees of freedom
  double randomisation_p_value = 1;  // two-sided, (hits + 1) / (resamples + 1)
  double ci_low = 0, ci_high = 0;    // 95% percentile bootstrap interval of mean_diff
};

// a[i] and b[i] are the same case under runs A and B.
PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b,
                       int64_t resamples, uint64_t seed);

struct RunComparison {
  std::vector<PairedTest> tests;  // per group (protocol/task) and metric
  int64_t paired = 0;
  int64_t only_in_a = 0, only_in_b = 0;  // cases present in one run only (left out)
};

// Pairs cases by (protocol, task, case_id); the target of a pair must agree.
RunComparison compare_runs(const std::vector<CaseRecord>& a, const std::vector<CaseRecord>& b,
                           int64_t resamples, uint64_t seed);

// Renderings used by `gensar compare`: an aligned text table (differences are B - A) and JSON.
std::string comparison_table(const RunComparison& cmp, const std::string& name_a,
                             const std::string& name_b);
std::string comparison_json(const RunComparison& cmp, const std::string& name_a,
                            const std::string& name_b, int64_t resamples);

}  // namespace gensar::eval
