// Offline evaluation of GenSAR and of the baselines under the same splits and protocols
// (docs/evaluation.md, "Protocols"):
// - candidates (the paper's protocol): per case a trie over the true item + its 99 fixed
//   candidates (data_pipeline/candidates.h), constrained beam search, 30 beams by default;
// - full (TIGER style): one trie over the whole catalogue per task.
// The rec task decodes the collaborative ID after the forced `<rec_item>`, the search task the
// semantic ID after `<src_item>` (SampleBuilder knows which IDs an identifier ablation uses).
//
// Determinism and distribution: the evaluated cases of a (split, task) are all examples, or with
// max_cases a fixed, evenly strided subset. Cases are cut into batches of batch_size in that order
// and batch j goes to rank j % size, so every batch holds the same cases (same padding) for any rank
// count, and the gathered results are identical to one process. Rank 0 receives every per-case
// record (in case order) and computes the metrics from them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/eval/case_records.h"
#include "core/decoding/seq2seq.h"
#include "core/train/sample_builder.h"
#include "data_pipeline/candidates.h"
#include "data_pipeline/dataset.h"
#include "distributed/communicator.h"

namespace gensar::eval {

enum class Protocol { kCandidates, kFull };
const char* protocol_name(Protocol protocol);  // "candidates", "full"
// "candidates" | "full" | "both" -> protocols; throws InputError otherwise.
std::vector<Protocol> parse_protocols(const std::string& text);
// "rec" | "search" | "rec,search" | "both" -> tasks; throws InputError otherwise.
std::vector<data::Task> parse_eval_tasks(const std::string& text);
// "valid" | "test" -> split; throws InputError otherwise.
data::Split parse_eval_split(const std::string& text);

struct EvalOptions {
  data::Split split = data::Split::kTest;
  std::vector<data::Task> tasks = {data::Task::kRec, data::Task::kSearch};
  std::vector<Protocol> protocols = {Protocol::kCandidates};
  int beams = 30;          // beams per case; also the ranked-list length of the baselines
  int batch_size = 16;     // cases decoded together
  int64_t max_cases = 0;   // per (task, split); 0 = all; else an evenly strided, fixed subset
  // Recommendation cases drop the items of the case's rec history (rec_history) from every ranked
  // list, as the candidates protocol already does for its negatives (docs/evaluation.md, "History
  // exclusion"). Score rankers skip them and still fill the list; beam lists only lose them.
  bool exclude_history = false;
  // Per task, the beam search's weight of each identifier level's log-prob (level 0 first; absent
  // levels and tasks weigh 1): decoding::BeamSearchOptions::level_weights. Score rankers ignore it.
  std::map<data::Task, std::vector<double>> level_weights;
  // Asked before every batch; true ends the evaluation early (EvalResult::stopped). Null: never.
  std::function<bool()> stop;
};

struct EvalResult {
  // protocol name -> "<task>.<metric>" (metric_names(): hr@1 .. mrr) and "<task>.count".
  // Complete on rank 0; on other ranks empty.
  std::map<std::string, std::map<std::string, double>> metrics;
  // Every evaluated case (rank 0 only), ordered by protocol, task, then case order.
  std::vector<CaseRecord> records;
  double seconds = 0;     // wall time of the evaluation (this rank)
  int64_t cases = 0;      // cases evaluated over all ranks, protocols and tasks
  bool stopped = false;   // options.stop ended it early on this rank: metrics are partial
};

// One evaluation case.
struct EvalCase {
  data::Task task = data::Task::kRec;
  int64_t example = 0;     // index into Dataset::examples(task, split) (and the candidate rows)
  int32_t user = 0;
  int32_t event_index = 0;
  int32_t target = 0;      // dataset item of the target event
  int32_t query = -1;      // search cases: dataset query index
  const int32_t* candidates = nullptr;  // candidates protocol: target first, then the negatives
  int32_t num_candidates = 0;
  std::vector<int32_t> excluded;  // sorted; never ranked (EvalOptions::exclude_history)
  bool is_excluded(int64_t item) const {
    return std::binary_search(excluded.begin(), excluded.end(), static_cast<int32_t>(item));
  }
};

// The earlier rec clicks of a case (data::history_end), oldest first.
std::vector<int64_t> rec_history(const data::Dataset& dataset, int32_t user, int32_t event_index);
std::vector<int64_t> rec_history(const std::vector<data::Event>& events, int32_t event_index);

// A ranked list for one case: items best first with their scores (at most `beams` items).
struct RankedList {
  std::vector<int64_t> items;
  std::vector<double> scores;
};

// Ranks a batch of cases of one (protocol, task); must give the same list for a case whatever
// else is in the batch. Used for the model and for the baselines.
using BatchRanker = std::function<void(Protocol protocol, data::Task task,
                                       const std::vector<EvalCase>& cases,
                                       std::vector<RankedList>* out)>;

// The cases evaluated for (task, split) under `options` (all examples, or the strided subset).
std::vector<int64_t> selected_examples(int64_t num_examples, int64_t max_cases);

// The generic driver: case selection, batching over ranks, gathering, metrics. `candidates` is
// needed for the candidates protocol (InputError otherwise). `comm` may be null (one process).
EvalResult evaluate_with(const BatchRanker& ranker, const data::Dataset& dataset,
                         const data::EvalCandidates* candidates, const EvalOptions& options,
                         dist::Communicator* comm);

// GenSAR: constrained beam search with `scorer` over inputs built by `builder` (template 0).
EvalResult evaluate(decoding::Seq2SeqScorer& scorer, const train::SampleBuilder& builder,
                    const data::EvalCandidates* candidates, const EvalOptions& options,
                    dist::Communicator* comm);

// {"candidates": {"rec.hr@10": ..., ...}, "full": {...}}: the `--json` output and metrics.json.
std::string metrics_json(const EvalResult& result);
// A human-readable table: one row per (protocol, task), one column per metric.
std::string metrics_table(const EvalResult& result);
// Writes metrics.json and cases.jsonl (every record) into `dir` (created).
void write_eval_outputs(const std::string& dir, const EvalResult& result);

}  // namespace gensar::eval
