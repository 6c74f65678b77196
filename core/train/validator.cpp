#include "core/train/validator.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/decoding/metrics.h"
#include "core/model/t5_scorer.h"
#include "core/train/evaluator.h"
#include "distributed/stop_signal.h"

namespace gensar::train {
namespace {

// Per task: the mean and standard error of NDCG@5 over the evaluated cases.
struct TaskScore {
  double mean = 0, stderr_ = 0;
  int64_t cases = 0;
};

TaskScore ndcg5_of(const std::vector<decoding::CaseRecord>& records, const std::string& task) {
  double sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (const auto& r : records) {
    if (r.task != task) continue;
    const double v = decoding::ndcg_at(r.rank, 5);
    sum += v;
    sum_sq += v * v;
    ++n;
  }
  TaskScore s;
  s.cases = n;
  if (n == 0) return s;
  s.mean = sum / n;
  const double var = n > 1 ? std::max(0.0, (sum_sq - n * s.mean * s.mean) / (n - 1)) : 0.0;
  s.stderr_ = std::sqrt(var / n);
  return s;
}

}  // namespace

ValidationResult run_validation(model::T5Model model, const SampleBuilder& builder,
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
  const std::vector<std::string>& names = decoding::metric_names();
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
      const TaskScore s = ndcg5_of(er.records, tasks[t]);
      v[t * per_task + names.size()] = static_cast<double>(s.cases);
      v[t * per_task + names.size() + 1] = s.mean;
      v[t * per_task + names.size() + 2] = s.stderr_;
    }
  }
  if (dp && dp->size() > 1) dp->broadcast(values, 0);

  ValidationResult out;
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

}  // namespace gensar::train
