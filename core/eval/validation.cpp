#include "core/eval/validation.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/eval/evaluator.h"
#include "core/eval/metrics.h"
#include "core/model/t5_scorer.h"
#include "distributed/stop_signal.h"

namespace gensar::eval {
namespace {

// Standard error of the mean NDCG@5 of `task`'s cases (the mean itself is the evaluator's).
double ndcg5_stderr(const std::vector<CaseRecord>& records, const std::string& task, double mean) {
  double sum_sq = 0;
  int64_t n = 0;
  for (const auto& r : records) {
    if (r.task != task) continue;
    const double v = ndcg_at(r.rank, 5);
    sum_sq += v * v;
    ++n;
  }
  if (n == 0) return 0;
  const double var = n > 1 ? std::max(0.0, (sum_sq - n * mean * mean) / (n - 1)) : 0.0;
  return std::sqrt(var / n);
}

}  // namespace

train::ValidationResult validate(model::T5Model model, const train::SampleBuilder& builder,
                                 const data::EvalCandidates* candidates,
                                 const ValidationOptions& options,
                                 std::shared_ptr<dist::Communicator> dp) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  model::T5Scorer scorer(model);
  EvalOptions eo;
  eo.split = options.split;
  eo.tasks = {data::Task::kRec, data::Task::kSearch};
  eo.protocols = {candidates ? Protocol::kCandidates : Protocol::kFull};
  eo.beams = options.beams;
  eo.batch_size = options.batch_size;
  eo.max_cases = options.max_cases;
  eo.stop = [&options] {
    return options.stop_group && options.stop_group->size() > 1 ? dist::should_stop(*options.stop_group)
                                                                 : dist::stop_requested_locally();
  };
  EvalResult er = evaluate(scorer, builder, candidates, eo, dp.get());
  model->train(was_training);

  // Rank 0 holds the metrics; every rank needs the same score for best/patience decisions.
  const std::vector<std::string>& names = metric_names();
  const char* tasks[2] = {"rec", "search"};
  const int64_t per_task = static_cast<int64_t>(names.size()) + 3;  // metrics, count, mean, stderr
  torch::Tensor values = torch::zeros({2 * per_task}, torch::kFloat64);
  if (!dp || dp->rank() == 0) {
    auto v = values.accessor<double, 1>();
    const auto& m = er.metrics[protocol_name(eo.protocols[0])];
    for (int t = 0; t < 2; ++t) {
      for (size_t k = 0; k < names.size(); ++k) {
        auto it = m.find(std::string(tasks[t]) + "." + names[k]);
        v[t * per_task + k] = it == m.end() ? 0.0 : it->second;
      }
      auto count = m.find(std::string(tasks[t]) + ".count");
      auto mean = m.find(std::string(tasks[t]) + ".ndcg@5");
      if (count == m.end() || mean == m.end()) continue;
      v[t * per_task + names.size()] = count->second;
      v[t * per_task + names.size() + 1] = mean->second;
      v[t * per_task + names.size() + 2] = ndcg5_stderr(er.records, tasks[t], mean->second);
    }
  }
  if (dp && dp->size() > 1) dp->broadcast(values, 0);

  train::ValidationResult out;
  torch::Tensor stop_flag = torch::full({1}, er.stopped ? 1 : 0, torch::kInt);
  if (dp && dp->size() > 1) dp->all_reduce(stop_flag, dist::ReduceOp::kMax);
  out.stopped = stop_flag.item<int>() != 0;
  auto v = values.accessor<double, 1>();
  double score_sum = 0, var_sum = 0;
  int present = 0;
  for (int t = 0; t < 2; ++t) {
    const double count = v[t * per_task + names.size()];
    if (count <= 0) continue;
    for (size_t k = 0; k < names.size(); ++k)
      out.metrics[std::string(tasks[t]) + "." + names[k]] = v[t * per_task + k];
    out.metrics[std::string(tasks[t]) + ".count"] = count;
    score_sum += v[t * per_task + names.size() + 1];
    const double se = v[t * per_task + names.size() + 2];
    var_sum += se * se;
    ++present;
  }
  out.score = present ? score_sum / present : 0.0;
  out.score_stderr = present ? std::sqrt(var_sum) / present : 0.0;
  out.seconds = er.seconds;
  return out;
}

train::ValidationHook validation_hook(model::T5Model model,
                                      std::shared_ptr<const train::SampleBuilder> builder,
                                      std::shared_ptr<const data::EvalCandidates> candidates,
                                      ValidationOptions options,
                                      std::shared_ptr<dist::Communicator> dp) {
  return [model, builder, candidates, options, dp] {
    return validate(model, *builder, candidates.get(), options, dp);
  };
}

}  // namespace gensar::eval
