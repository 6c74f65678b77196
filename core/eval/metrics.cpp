#include "core/eval/metrics.h"

#include <cmath>

#include "core/common/check.h"

namespace gensar::eval {

int64_t target_rank(const std::vector<int64_t>& ranked_items, int64_t target) {
  for (size_t i = 0; i < ranked_items.size(); ++i) {
    if (ranked_items[i] == target) return static_cast<int64_t>(i) + 1;
  }
  return 0;
}

double hit_at(int64_t rank, int64_t k) { return rank >= 1 && rank <= k ? 1.0 : 0.0; }

double ndcg_at(int64_t rank, int64_t k) {
  // One relevant item: the ideal DCG is 1 / log2(2) = 1, so NDCG is the DCG of the hit.
  return rank >= 1 && rank <= k ? 1.0 / std::log2(static_cast<double>(rank) + 1.0) : 0.0;
}

double reciprocal_rank(int64_t rank) { return rank >= 1 ? 1.0 / static_cast<double>(rank) : 0.0; }

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"hr@1",   "hr@5",    "hr@10",   "hr@20",
                                                 "ndcg@5", "ndcg@10", "ndcg@20", "mrr"};
  return names;
}

double metric_value(const std::string& name, int64_t rank) {
  if (name == "mrr") return reciprocal_rank(rank);
  const size_t at = name.find('@');
  GENSAR_INPUT_CHECK(at != std::string::npos, "unknown metric '{}'", name);
  const std::string kind = name.substr(0, at);
  int64_t k = 0;
  try {
    k = std::stoll(name.substr(at + 1));
  } catch (const std::exception&) {
    GENSAR_INPUT_CHECK(false, "metric '{}' has no valid cutoff", name);
  }
  if (kind == "hr" || kind == "recall") return hit_at(rank, k);
  if (kind == "ndcg") return ndcg_at(rank, k);
  GENSAR_INPUT_CHECK(false, "unknown metric '{}'", name);
  return 0;
}

void MetricAccumulator::add(const std::string& group, int64_t rank) {
  Group& g = groups_[group];
  const auto& names = metric_names();
  if (g.sums.empty()) g.sums.assign(names.size(), 0.0);
  for (size_t i = 0; i < names.size(); ++i) g.sums[i] += metric_value(names[i], rank);
  ++g.count;
}

void MetricAccumulator::merge(const MetricAccumulator& other) {
  for (const auto& [name, og] : other.groups_) {
    Group& g = groups_[name];
    if (g.sums.empty()) g.sums.assign(metric_names().size(), 0.0);
    for (size_t i = 0; i < og.sums.size(); ++i) g.sums[i] += og.sums[i];
    g.count += og.count;
  }
}

int64_t MetricAccumulator::count(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.count;
}

std::vector<std::string> MetricAccumulator::groups() const {
  std::vector<std::string> out;
  for (const auto& kv : groups_) out.push_back(kv.first);
  return out;
}

std::map<std::string, double> MetricAccumulator::means() const {
  std::map<std::string, double> out;
  const auto& names = metric_names();
  for (const auto& [name, g] : groups_) {
    out[name + ".count"] = static_cast<double>(g.count);
    for (size_t i = 0; i < names.size(); ++i) {
      out[name + "." + names[i]] = g.count ? g.sums[i] / static_cast<double>(g.count) : 0.0;
    }
  }
  return out;
}

}  // namespace gensar::eval
