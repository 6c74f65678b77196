#include "core/eval/evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/decoding/beam_search.h"
#include "core/eval/metrics.h"
#include "core/decoding/prefix_trie.h"
#include "core/train/identifier_softmax.h"
#include "core/eval/record_exchange.h"
#include "core/train/batch.h"

namespace gensar::eval {
namespace {

std::string case_id(const data::Dataset& ds, int32_t user, int32_t event_index) {
  return ds.user_key(user) + "@" + std::to_string(event_index);
}

// Rankers that cannot skip excluded items while ranking (beam search) lose them here.
void drop_excluded(const EvalCase& c, RankedList* l) {
  if (c.excluded.empty()) return;
  size_t kept = 0;
  for (size_t j = 0; j < l->items.size(); ++j) {
    if (c.is_excluded(l->items[j])) continue;
    l->items[kept] = l->items[j];
    if (j < l->scores.size()) l->scores[kept] = l->scores[j];
    ++kept;
  }
  l->items.resize(kept);
  if (l->scores.size() > kept) l->scores.resize(kept);
}

}  // namespace

const char* protocol_name(Protocol protocol) {
  return protocol == Protocol::kCandidates ? "candidates" : "full";
}

std::vector<Protocol> parse_protocols(const std::string& text) {
  if (text == "candidates") return {Protocol::kCandidates};
  if (text == "full") return {Protocol::kFull};
  if (text == "both") return {Protocol::kCandidates, Protocol::kFull};
  GENSAR_INPUT_CHECK(false, "--protocol: expected candidates, full or both, got '{}'", text);
  return {};
}

std::vector<data::Task> parse_eval_tasks(const std::string& text) {
  if (text == "rec") return {data::Task::kRec};
  if (text == "search") return {data::Task::kSearch};
  if (text == "both" || text == "rec,search" || text == "search,rec")
    return {data::Task::kRec, data::Task::kSearch};
  GENSAR_INPUT_CHECK(false, "--tasks: expected rec, search or both, got '{}'", text);
  return {};
}

data::Split parse_eval_split(const std::string& text) {
  if (text == "test") return data::Split::kTest;
  if (text == "valid") return data::Split::kValid;
  GENSAR_INPUT_CHECK(false, "--split: expected test or valid, got '{}'", text);
  return data::Split::kTest;
}

std::vector<int64_t> rec_history(const data::Dataset& ds, int32_t user, int32_t event_index) {
  return rec_history(ds.events(user), event_index);
}

std::vector<int64_t> rec_history(const std::vector<data::Event>& events, int32_t event_index) {
  const int64_t end = data::history_end(events, event_index);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < end; ++i)
    if (events[i].kind == data::EventKind::kRec) out.push_back(events[i].item);
  return out;
}

std::vector<int64_t> selected_examples(int64_t n, int64_t max_cases) {
  std::vector<int64_t> out;
  if (max_cases <= 0 || max_cases >= n) {
    out.resize(n);
    for (int64_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }
  // Evenly strided: spreads the subset over all users (the split is in user order), fixed for a
  // given (n, max_cases), and distinct because n > max_cases.
  out.reserve(max_cases);
  for (int64_t i = 0; i < max_cases; ++i) out.push_back(i * n / max_cases);
  return out;
}

EvalResult evaluate_with(const BatchRanker& ranker, const data::Dataset& ds,
                         const data::EvalCandidates* candidates, const EvalOptions& options,
                         dist::Communicator* comm) {
  const auto t0 = std::chrono::steady_clock::now();
  GENSAR_INPUT_CHECK(options.beams >= 1, "--beams must be >= 1, got {}", options.beams);
  GENSAR_INPUT_CHECK(options.batch_size >= 1, "--batch-size must be >= 1, got {}", options.batch_size);
  // The training split has no fixed candidates; ranking it over the catalogue is how tests check
  // that a model memorised its training examples.
  for (Protocol p : options.protocols)
    GENSAR_INPUT_CHECK(options.split != data::Split::kTrain || p == Protocol::kFull,
                       "the candidates protocol needs the valid or test split");
  const int rank = comm ? comm->rank() : 0;
  const int size = comm ? comm->size() : 1;

  std::vector<OrderedRecord> mine;
  int64_t total_cases = 0;
  bool stopped = false;
  int64_t unreachable = 0;  // this rank's rec targets inside their own excluded history
  for (size_t pi = 0; pi < options.protocols.size(); ++pi) {
    const Protocol protocol = options.protocols[pi];
    GENSAR_INPUT_CHECK(protocol != Protocol::kCandidates || candidates != nullptr,
                       "the candidates protocol needs {}/candidates.h5 (ingest --candidates)",
                       ds.dir());
    for (size_t ti = 0; ti < options.tasks.size(); ++ti) {
      const data::Task task = options.tasks[ti];
      const auto& examples = ds.examples(task, options.split);
      if (candidates) {
        GENSAR_CHECK(candidates->size(task, options.split) == examples.size(),
                     "candidates.h5 has {} {} {} rows, the dataset {} examples",
                     candidates->size(task, options.split), data::task_name(task),
                     data::split_name(options.split), examples.size());
      }
      const std::vector<int64_t> selected =
          selected_examples(static_cast<int64_t>(examples.size()), options.max_cases);
      total_cases += static_cast<int64_t>(selected.size());
      const int64_t batches =
          (static_cast<int64_t>(selected.size()) + options.batch_size - 1) / options.batch_size;
      for (int64_t b = rank; b < batches && !stopped; b += size) {
        if (options.stop && options.stop()) {
          stopped = true;
          break;
        }
        const int64_t begin = b * options.batch_size;
        const int64_t end = std::min<int64_t>(begin + options.batch_size, selected.size());
        std::vector<EvalCase> cases;
        for (int64_t s = begin; s < end; ++s) {
          const int64_t ex_index = selected[s];
          const data::Example& ex = examples[ex_index];
          const std::vector<data::Event> events = ds.events(ex.user);
          GENSAR_CHECK(ex.event_index < static_cast<int32_t>(events.size()),
                       "example ({}, {}) outside the user's {} events", ex.user, ex.event_index,
                       events.size());
          const data::Event& ev = events[ex.event_index];
          EvalCase c;
          c.task = task;
          c.example = ex_index;
          c.user = ex.user;
          c.event_index = ex.event_index;
          c.target = ev.item;
          c.query = ev.query;
          if (protocol == Protocol::kCandidates) {
            const auto row = candidates->row(task, options.split, ex_index);
            GENSAR_CHECK(row.user == ex.user && row.event_index == ex.event_index &&
                             row.target() == ev.item,
                         "candidate row {} is for (user {}, event {}), the example is ({}, {})",
                         ex_index, row.user, row.event_index, ex.user, ex.event_index);
            c.candidates = row.items;
            c.num_candidates = row.size;
          }
          if (options.exclude_history && task == data::Task::kRec) {
            for (int64_t item : rec_history(events, ex.event_index))
              c.excluded.push_back(static_cast<int32_t>(item));
            std::sort(c.excluded.begin(), c.excluded.end());
            c.excluded.erase(std::unique(c.excluded.begin(), c.excluded.end()), c.excluded.end());
            unreachable += c.is_excluded(c.target);
          }
          cases.push_back(std::move(c));
        }
        std::vector<RankedList> lists;
        ranker(protocol, task, cases, &lists);
        GENSAR_CHECK(lists.size() == cases.size(), "ranker returned {} lists for {} cases",
                     lists.size(), cases.size());
        for (size_t i = 0; i < cases.size(); ++i) {
          RankedList& l = lists[i];
          drop_excluded(cases[i], &l);
          if (static_cast<int64_t>(l.items.size()) > options.beams) {
            l.items.resize(options.beams);
            if (l.scores.size() > l.items.size()) l.scores.resize(l.items.size());
          }
          OrderedRecord r;
          r.order[0] = static_cast<int64_t>(pi);
          r.order[1] = static_cast<int64_t>(ti);
          r.order[2] = begin + static_cast<int64_t>(i);
          r.record = make_case_record(case_id(ds, cases[i].user, cases[i].event_index),
                                                protocol_name(protocol), data::task_name(task),
                                                cases[i].target, std::move(l.items),
                                                std::move(l.scores));
          mine.push_back(std::move(r));
        }
      }
    }
  }

  if (unreachable > 0)
    GENSAR_WARN("eval", "rank {}: {} recommendation targets are items of their own history and "
                "cannot be hit with history exclusion (a log with repeat clicks)", rank, unreachable);
  EvalResult result;
  result.cases = total_cases;
  if (size > 1 && options.stop) {
    // Ranks may stop at different batches; all of them learn whether any did before gathering.
    torch::Tensor flag = torch::full({1}, stopped ? 1 : 0, torch::kInt);
    comm->all_reduce(flag, dist::ReduceOp::kMax);
    stopped = flag.item<int>() != 0;
  }
  result.stopped = stopped;
  std::vector<OrderedRecord> all = size > 1 ? gather_records(*comm, mine) : std::move(mine);
  if (rank == 0) {
    std::sort(all.begin(), all.end(), [](const OrderedRecord& a, const OrderedRecord& b) {
      return std::lexicographical_compare(a.order, a.order + 3, b.order, b.order + 3);
    });
    GENSAR_CHECK(stopped || static_cast<int64_t>(all.size()) == total_cases,
                 "gathered {} records for {} cases", all.size(), total_cases);
    std::map<std::string, MetricAccumulator> acc;
    for (const auto& r : all) acc[r.record.protocol].add(r.record.task, r.record.rank);
    for (auto& [protocol, a] : acc) result.metrics[protocol] = a.means();
    // A protocol whose tasks all had zero cases still appears (with no keys), so the JSON shape is
    // fixed by the options.
    for (Protocol p : options.protocols) result.metrics[protocol_name(p)];
    result.records.reserve(all.size());
    for (auto& r : all) result.records.push_back(std::move(r.record));
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

EvalResult evaluate(decoding::Seq2SeqScorer& scorer, const train::SampleBuilder& builder,
                    const data::EvalCandidates* candidates, const EvalOptions& options,
                    dist::Communicator* comm) {
  torch::NoGradGuard no_grad;
  const data::Dataset& ds = builder.dataset();
  // Catalogue tries are built once per task, on first use.
  std::map<data::Task, std::unique_ptr<decoding::PrefixTrie>> full_tries;

  BatchRanker ranker = [&](Protocol protocol, data::Task task, const std::vector<EvalCase>& cases,
                           std::vector<RankedList>* out) {
    const bool semantic = task == data::Task::kSearch;
    const train::Task model_task = semantic ? train::Task::kSearch : train::Task::kRec;
    std::vector<std::vector<int64_t>> inputs;
    inputs.reserve(cases.size());
    for (const auto& c : cases) inputs.push_back(builder.build_input(model_task, c.user, c.event_index, 0));
    // The catalogue trie: the full protocol's trie, and the normaliser of catalogue-softmax runs.
    const bool catalogue_softmax = builder.options().id_softmax == train::IdSoftmax::kCatalogue;
    auto& catalogue = full_tries[task];
    if (!catalogue && (protocol == Protocol::kFull || catalogue_softmax))
      catalogue = std::make_unique<decoding::PrefixTrie>(train::catalogue_trie(builder, semantic));
    std::vector<decoding::PrefixTrie> case_tries;
    std::vector<const decoding::PrefixTrie*> tries;
    if (protocol == Protocol::kCandidates) {
      case_tries.reserve(cases.size());
      for (const auto& c : cases)
        case_tries.push_back(train::identifier_trie(builder, c.candidates, c.num_candidates, semantic));
      for (const auto& t : case_tries) tries.push_back(&t);
    } else {
      tries.push_back(catalogue.get());
    }
    torch::Tensor ids, mask;
    train::collate_inputs(inputs, builder.tokenizer().pad_id(), &ids, &mask);
    decoding::BeamSearchOptions bs;
    bs.num_beams = options.beams;
    bs.forced_prefix = {semantic ? builder.src_item_token() : builder.rec_item_token()};
    if (catalogue_softmax) bs.normaliser = catalogue.get();
    if (auto w = options.level_weights.find(task); w != options.level_weights.end())
      bs.level_weights = w->second;
    const decoding::BeamSearchResult result = decoding::beam_search(scorer, ids, mask, tries, bs);
    out->clear();
    for (const auto& cb : result.cases) {
      RankedList l;
      l.items = cb.ranked_items(options.beams);
      l.scores = cb.ranked_scores(options.beams);
      out->push_back(std::move(l));
    }
  };
  return evaluate_with(ranker, ds, candidates, options, comm);
}

std::string metrics_json(const EvalResult& result) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [protocol, metrics] : result.metrics) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metrics) m[key] = value;
    j[protocol] = m;
  }
  return j.dump(2);
}

std::string metrics_table(const EvalResult& result) {
  const auto& names = metric_names();
  std::string out = fmt::format("{:<11} {:<7} {:>7}", "protocol", "task", "cases");
  for (const auto& n : names) out += fmt::format(" {:>8}", n);
  out += "\n";
  for (const auto& [protocol, metrics] : result.metrics) {
    for (const char* task : {"rec", "search"}) {
      auto count = metrics.find(std::string(task) + ".count");
      if (count == metrics.end()) continue;
      out += fmt::format("{:<11} {:<7} {:>7}", protocol, task, static_cast<int64_t>(count->second));
      for (const auto& n : names) {
        auto it = metrics.find(std::string(task) + "." + n);
        out += it == metrics.end() ? fmt::format(" {:>8}", "-") : fmt::format(" {:>8.4f}", it->second);
      }
      out += "\n";
    }
  }
  return out;
}

void write_eval_outputs(const std::string& dir, const EvalResult& result) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  {
    std::ofstream out(fs::path(dir) / "metrics.json");
    GENSAR_INPUT_CHECK(out.good(), "cannot write {}/metrics.json", dir);
    out << metrics_json(result) << "\n";
  }
  write_case_records((fs::path(dir) / "cases.jsonl").string(), result.records);
}

}  // namespace gensar::eval
