#include "core/train/validator.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/common/check.h"
#include "core/decoding/beam_search.h"
#include "core/decoding/metrics.h"
#include "core/decoding/prefix_trie.h"
#include "core/model/t5_scorer.h"
#include "core/train/batch.h"
#include "distributed/stop_signal.h"

namespace gensar::train {
namespace {

const char* kMetricNames[] = {"hr@1", "hr@5", "hr@10", "ndcg@5", "ndcg@10"};
constexpr int kMetrics = 5;

decoding::PrefixTrie trie_over(const SampleBuilder& b, const std::vector<int32_t>& items,
                               bool semantic) {
  std::vector<int64_t> tokens, item_ids;
  int64_t len = 0;
  for (int32_t item : items) {
    auto id = semantic ? b.semantic_id(item) : b.collaborative_id(item);
    len = static_cast<int64_t>(id.size());
    tokens.insert(tokens.end(), id.begin(), id.end());
    item_ids.push_back(item);
  }
  return decoding::PrefixTrie::build(tokens, len, item_ids);
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
  const int dp_rank = dp ? dp->rank() : 0;
  const int dp_size = dp ? dp->size() : 1;
  const auto& ds = builder.dataset();

  std::vector<int32_t> all_items(ds.num_items());
  for (int32_t i = 0; i < ds.num_items(); ++i) all_items[i] = i;

  // sums[task][metric], counts at index kMetrics
  torch::Tensor sums = torch::zeros({2, kMetrics + 1}, torch::kFloat64);
  auto acc = sums.accessor<double, 2>();
  bool stopped = false;
  for (int ti = 0; ti < 2 && !stopped; ++ti) {
    const data::Task dtask = static_cast<data::Task>(ti);
    const Task task = ti == 0 ? Task::kRec : Task::kSearch;
    const bool semantic = task == Task::kSearch;
    const auto& examples = ds.examples(dtask, options.split);
    int64_t n = static_cast<int64_t>(examples.size());
    if (options.max_cases > 0) n = std::min(n, options.max_cases);
    std::unique_ptr<decoding::PrefixTrie> full_trie;
    if (!candidates) full_trie = std::make_unique<decoding::PrefixTrie>(trie_over(builder, all_items, semantic));
    std::vector<int64_t> mine;
    for (int64_t i = dp_rank; i < n; i += dp_size) mine.push_back(i);
    for (size_t start = 0; start < mine.size(); start += options.batch_size) {
      stopped = options.stop_group && options.stop_group->size() > 1
                    ? dist::should_stop(*options.stop_group)
                    : dist::stop_requested_locally();
      if (stopped) break;
      const size_t end = std::min(mine.size(), start + static_cast<size_t>(options.batch_size));
      std::vector<std::vector<int64_t>> inputs;
      std::vector<decoding::PrefixTrie> tries;
      std::vector<int64_t> targets;
      tries.reserve(end - start);
      for (size_t c = start; c < end; ++c) {
        const auto& ex = examples[mine[c]];
        inputs.push_back(builder.build_input(task, ex.user, ex.event_index, 0));
        int64_t count = 0;
        targets.push_back(builder.user_events(ex.user, &count)[ex.event_index].item);
        if (candidates) {
          auto row = candidates->row(dtask, options.split, mine[c]);
          GENSAR_CHECK(row.user == ex.user && row.event_index == ex.event_index,
                       "candidate row {} is for (user {}, event {}), example is ({}, {})", mine[c],
                       row.user, row.event_index, ex.user, ex.event_index);
          tries.push_back(trie_over(builder, std::vector<int32_t>(row.items, row.items + row.size),
                                    semantic));
        }
      }
      std::vector<const decoding::PrefixTrie*> trie_ptrs;
      if (candidates) {
        for (auto& t : tries) trie_ptrs.push_back(&t);
      } else {
        trie_ptrs.push_back(full_trie.get());
      }
      torch::Tensor ids, mask;
      collate_inputs(inputs, builder.tokenizer().pad_id(), &ids, &mask);
      decoding::BeamSearchOptions bs;
      bs.num_beams = options.beams;
      bs.forced_prefix = {semantic ? builder.src_item_token() : builder.rec_item_token()};
      auto result = decoding::beam_search(scorer, ids, mask, trie_ptrs, bs);
      for (size_t c = 0; c < result.cases.size(); ++c) {
        const int64_t rank = decoding::target_rank(result.cases[c].ranked_items(), targets[c]);
        for (int m = 0; m < kMetrics; ++m) acc[ti][m] += decoding::metric_value(kMetricNames[m], rank);
        acc[ti][kMetrics] += 1;
      }
    }
  }
  if (dp && dp_size > 1) dp->all_reduce(sums);
  ValidationResult out;
  torch::Tensor stop_flag = torch::full({1}, stopped ? 1 : 0, torch::kInt);
  if (dp && dp_size > 1) dp->all_reduce(stop_flag, dist::ReduceOp::kMax);
  out.stopped = stop_flag.item<int>() != 0;
  double score = 0;
  int tasks = 0;
  for (int ti = 0; ti < 2; ++ti) {
    const std::string name = ti == 0 ? "rec" : "search";
    const double count = acc[ti][kMetrics];
    out.metrics[name + ".count"] = count;
    if (count <= 0) continue;
    for (int m = 0; m < kMetrics; ++m) out.metrics[name + "." + kMetricNames[m]] = acc[ti][m] / count;
    score += acc[ti][3] / count;
    ++tasks;
  }
  out.score = tasks ? score / tasks : 0.0;
  model->train(was_training);
  return out;
}

}  // namespace gensar::train
