// Ranking metrics with one relevant item per case (RecBole's formulas; docs/evaluation.md):
// a case is summarised by the 1-based rank of its target in the ranked list (0 = not retrieved).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gensar::eval {

// 1-based position of target in ranked_items, 0 when absent.
int64_t target_rank(const std::vector<int64_t>& ranked_items, int64_t target);

double hit_at(int64_t rank, int64_t k);   // 1 if 1 <= rank <= k
double ndcg_at(int64_t rank, int64_t k);  // 1 / log2(rank + 1) if 1 <= rank <= k
double reciprocal_rank(int64_t rank);     // 1 / rank, 0 if not retrieved

// The metrics reported per task, in report order: hr@1 hr@5 hr@10 hr@20 ndcg@5 ndcg@10 ndcg@20 mrr.
const std::vector<std::string>& metric_names();
// Value of one named metric (from metric_names(), or any hr@K / ndcg@K / mrr) for a rank.
double metric_value(const std::string& name, int64_t rank);

// Sums per (group, metric) so that partial results (e.g. per rank) can be merged exactly.
class MetricAccumulator {
 public:
  void add(const std::string& group, int64_t rank);
  void merge(const MetricAccumulator& other);
  int64_t count(const std::string& group) const;
  std::vector<std::string> groups() const;
  // "<group>.<metric>" -> mean over the group's cases, e.g. "rec.hr@10"; plus "<group>.count".
  std::map<std::string, double> means() const;

 private:
  struct Group {
    int64_t count = 0;
    std::vector<double> sums;  // aligned with metric_names()
  };
  std::map<std::string, Group> groups_;
};

}  // namespace gensar::eval
