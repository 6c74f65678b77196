#include "core/eval/significance.h"

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "core/common/check.h"
#include "core/eval/metrics.h"

namespace gensar::eval {
namespace {

// Uniform integer in [0, n) without the library-specific distribution classes, so a seed gives the
// same resamples with any standard library.
uint64_t draw_below(std::mt19937_64& rng, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

}  // namespace

PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b,
                       int64_t resamples, uint64_t seed) {
  GENSAR_CHECK(a.size() == b.size(), "paired test on {} vs {} values", a.size(), b.size());
  PairedTest r;
  const int64_t n = static_cast<int64_t>(a.size());
  r.n = n;
  if (n == 0) return r;
  std::vector<double> d(n);
  double sum_a = 0, sum_b = 0, sum_d = 0;
  for (int64_t i = 0; i < n; ++i) {
    d[i] = b[i] - a[i];
    sum_a += a[i];
    sum_b += b[i];
    sum_d += d[i];
  }
  r.mean_a = sum_a / n;
  r.mean_b = sum_b / n;
  r.mean_diff = sum_d / n;
  r.ci_low = r.ci_high = r.mean_diff;

  // Paired t-test on the differences.
  if (n >= 2) {
    double ss = 0;
    for (double x : d) ss += (x - r.mean_diff) * (x - r.mean_diff);
    const double se = std::sqrt(ss / (n - 1) / n);
    if (se > 0) {
      r.t_statistic = r.mean_diff / se;
      boost::math::students_t dist(static_cast<double>(n - 1));
      r.t_p_value = 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(r.t_statistic)));
    } else if (r.mean_diff != 0) {
      r.t_statistic = r.mean_diff > 0 ? INFINITY : -INFINITY;
      r.t_p_value = 0;
    }
  }

  if (resamples <= 0) return r;
  std::mt19937_64 rng(seed);
  // Randomisation: under H0 (no difference) each case's difference is equally likely to have
  // either sign; count sign assignments whose |sum| reaches the observed one.
  const double observed = std::fabs(sum_d);
  const double tolerance = 1e-9 * std::max(1.0, observed);
  int64_t hits = 0;
  for (int64_t s = 0; s < resamples; ++s) {
    double total = 0;
    uint64_t bits = 0;
    for (int64_t i = 0; i < n; ++i) {
      if ((i & 63) == 0) bits = rng();
      total += (bits & 1) ? d[i] : -d[i];
      bits >>= 1;
    }
    if (std::fabs(total) >= observed - tolerance) ++hits;
  }
  r.randomisation_p_value = static_cast<double>(hits + 1) / static_cast<double>(resamples + 1);

  // Percentile bootstrap of the mean difference.
  std::vector<double> means(resamples);
  for (int64_t s = 0; s < resamples; ++s) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += d[draw_below(rng, n)];
    means[s] = total / n;
  }
  std::sort(means.begin(), means.end());
  auto quantile = [&](double q) {
    const int64_t idx = std::clamp<int64_t>(static_cast<int64_t>(std::floor(q * (resamples - 1))),
                                            0, resamples - 1);
    return means[idx];
  };
  r.ci_low = quantile(0.025);
  r.ci_high = quantile(0.975);
  return r;
}

RunComparison compare_runs(const std::vector<CaseRecord>& a, const std::vector<CaseRecord>& b,
                           int64_t resamples, uint64_t seed) {
  using Key = std::tuple<std::string, std::string, std::string>;  // protocol, task, case_id
  std::map<Key, const CaseRecord*> index_b;
  for (const CaseRecord& r : b) {
    const bool fresh = index_b.emplace(Key{r.protocol, r.task, r.case_id}, &r).second;
    GENSAR_INPUT_CHECK(fresh, "run B lists case {} ({}) twice", r.case_id, r.group());
  }
  RunComparison out;
  // group -> (ranks in A, ranks in B), in case order of run A.
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<int64_t>>> groups;
  std::map<Key, bool> seen_a;
  for (const CaseRecord& r : a) {
    const Key key{r.protocol, r.task, r.case_id};
    GENSAR_INPUT_CHECK(seen_a.emplace(key, true).second, "run A lists case {} ({}) twice",
                       r.case_id, r.group());
    auto it = index_b.find(key);
    if (it == index_b.end()) {
      ++out.only_in_a;
      continue;
    }
    GENSAR_INPUT_CHECK(it->second->target == r.target,
                       "case {} ({}) has target {} in run A but {} in run B: not the same split",
                       r.case_id, r.group(), r.target, it->second->target);
    auto& g = groups[r.group()];
    g.first.push_back(r.rank);
    g.second.push_back(it->second->rank);
    ++out.paired;
  }
  out.only_in_b = static_cast<int64_t>(b.size()) - out.paired;
  for (const auto& [group, ranks] : groups) {
    for (const std::string& metric : metric_names()) {
      std::vector<double> va, vb;
      for (int64_t rank : ranks.first) va.push_back(metric_value(metric, rank));
      for (int64_t rank : ranks.second) vb.push_back(metric_value(metric, rank));
      PairedTest t = paired_test(va, vb, resamples, seed);
      t.metric = group + "." + metric;
      out.tests.push_back(std::move(t));
    }
  }
  return out;
}

std::string comparison_table(const RunComparison& cmp, const std::string& name_a,
                             const std::string& name_b) {
  std::string out = fmt::format(
      "A: {}\nB: {}\npaired cases {} (only in A {}, only in B {}); differences are B - A\n",
      name_a, name_b, cmp.paired, cmp.only_in_a, cmp.only_in_b);
  out += fmt::format("{:<28} {:>7} {:>8} {:>8} {:>9}  {:<21} {:>9} {:>9}\n", "metric", "n", "A", "B",
                     "B-A", "95% bootstrap CI", "t-test p", "rand. p");
  for (const PairedTest& t : cmp.tests) {
    out += fmt::format("{:<28} {:>7} {:>8.4f} {:>8.4f} {:>+9.4f}  [{:>+8.4f}, {:>+8.4f}] {:>9.2g} {:>9.2g}\n",
                       t.metric, t.n, t.mean_a, t.mean_b, t.mean_diff, t.ci_low, t.ci_high,
                       t.t_p_value, t.randomisation_p_value);
  }
  return out;
}

std::string comparison_json(const RunComparison& cmp, const std::string& name_a,
                            const std::string& name_b, int64_t resamples) {
  nlohmann::ordered_json out;
  out["run_a"] = name_a;
  out["run_b"] = name_b;
  out["paired"] = cmp.paired;
  out["only_in_a"] = cmp.only_in_a;
  out["only_in_b"] = cmp.only_in_b;
  out["resamples"] = resamples;
  out["tests"] = nlohmann::ordered_json::array();
  for (const PairedTest& t : cmp.tests) {
    nlohmann::ordered_json row;
    row["metric"] = t.metric;
    row["n"] = t.n;
    row["mean_a"] = t.mean_a;
    row["mean_b"] = t.mean_b;
    row["mean_diff"] = t.mean_diff;
    // JSON has no infinity: a constant nonzero difference gives t = +-inf, written as null.
    row["t"] = std::isfinite(t.t_statistic) ? nlohmann::ordered_json(t.t_statistic) : nullptr;
    row["t_p"] = t.t_p_value;
    row["randomisation_p"] = t.randomisation_p_value;
    row["ci_low"] = t.ci_low;
    row["ci_high"] = t.ci_high;
    out["tests"].push_back(std::move(row));
  }
  return out.dump(2);
}

}  // namespace gensar::eval
