#include "core/seqrec/sasrec_eval.h"

#include <torch/torch.h>

#include <cmath>

#include "data_pipeline/dataset.h"

namespace gensar::seqrec {

RankingMetrics evaluate_full_ranking(SasRec& model, const data::Dataset& dataset, data::Split split,
                                     int64_t max_examples, int64_t batch) {
  const auto& examples = dataset.examples(data::Task::kRec, split);
  const size_t n = max_examples > 0 ? std::min<size_t>(examples.size(), static_cast<size_t>(max_examples))
                                    : examples.size();
  RankingMetrics m;
  std::vector<std::vector<int64_t>> histories;
  std::vector<int64_t> targets;
  auto flush = [&] {
    if (histories.empty()) return;
    torch::Tensor scores = model.score_all_batch(histories);  // [B, I]
    torch::Tensor target = torch::tensor(targets, torch::kInt64).unsqueeze(1);
    torch::Tensor target_score = scores.gather(1, target);
    torch::Tensor rank = (scores >= target_score).sum(1) - 1;  // items scoring at least as high
    auto r = rank.accessor<int64_t, 1>();
    for (int64_t i = 0; i < r.size(0); ++i) {
      const double gain = 1.0 / std::log2(static_cast<double>(r[i]) + 2.0);
      if (r[i] < 5) { m.hr5 += 1; m.ndcg5 += gain; }
      if (r[i] < 10) { m.hr10 += 1; m.ndcg10 += gain; }
    }
    m.examples += r.size(0);
    histories.clear();
    targets.clear();
  };
  for (size_t e = 0; e < n; ++e) {
    const data::Example& ex = examples[e];
    const std::vector<data::Event> events = dataset.events(ex.user);
    const int64_t end = data::history_end(events, ex.event_index);
    std::vector<int64_t> history;
    for (int64_t i = 0; i < end; ++i)
      if (events[static_cast<size_t>(i)].kind == data::EventKind::kRec)
        history.push_back(events[static_cast<size_t>(i)].item);
    histories.push_back(std::move(history));
    targets.push_back(events[static_cast<size_t>(ex.event_index)].item);
    if (static_cast<int64_t>(histories.size()) == batch) flush();
  }
  flush();
  if (m.examples > 0) {
    m.hr5 /= m.examples; m.ndcg5 /= m.examples; m.hr10 /= m.examples; m.ndcg10 /= m.examples;
  }
  return m;
}

}  // namespace gensar::seqrec
