// gensar eval: metrics of a trained run (or of a baseline) on the valid/test split under the
// candidates and/or full-catalogue protocol; table or JSON on stdout, metrics.json + per-case
// cases.jsonl in the eval directory. Runs under mpirun: ranks split the cases, rank 0 reports.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/seqrec/sasrec.h"
#include "core/eval/baselines.h"
#include "core/eval/evaluator.h"
#include "core/train/run_loader.h"
#include "data_pipeline/candidates.h"
#include "distributed/communicator.h"
#include "distributed/stop_signal.h"
#include "launch/verbs.h"

namespace gensar::launch {

namespace {

namespace fs = std::filesystem;

std::unique_ptr<data::EvalCandidates> maybe_candidates(const std::string& dataset_dir,
                                                       const std::vector<eval::Protocol>& protocols) {
  for (auto p : protocols)
    if (p == eval::Protocol::kCandidates)
      return std::make_unique<data::EvalCandidates>(data::load_eval_candidates(dataset_dir));
  return nullptr;
}

// The baselines `--baseline` accepts and the tasks each ranks by default (`--tasks auto`).
struct BaselineKind {
  const char* name;
  const char* tasks;  // rec | search | both
};
constexpr BaselineKind kBaselines[] = {{"popularity", "both"},
                                       {"bm25", "search"},
                                       {"sasrec", "rec"},
                                       {"transitions", "rec"},
                                       {"query-clicks", "search"}};

std::string baseline_names(const char* separator) {
  std::string out;
  for (const auto& b : kBaselines) out += (out.empty() ? "" : separator) + std::string(b.name);
  return out;
}

const BaselineKind& find_baseline(const std::string& name) {
  for (const auto& b : kBaselines)
    if (name == b.name) return b;
  GENSAR_INPUT_CHECK(false, "--baseline: expected none, {}, got '{}'", baseline_names(", "), name);
  return kBaselines[0];
}

// "0.7, 1" -> {0.7, 1}: one positive weight per identifier level, level 0 first.
std::vector<double> parse_level_weights(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  for (const std::string& item : split_list(text)) {
    double w = 0;
    const char* end = item.data() + item.size();
    const auto [stop, error] = std::from_chars(item.data(), end, w);
    GENSAR_INPUT_CHECK(error == std::errc() && stop == end && w > 0 && std::isfinite(w),
                       "--{}: expected comma-separated positive numbers, got '{}' in '{}'", flag, item, text);
    out.push_back(w);
  }
  return out;
}

}  // namespace

int run_eval(const po::variables_map& vm) {
  // Evaluation writes its outputs only at the end: a stop request (SIGTERM/SIGUSR1, e.g. a
  // scheduler's warning) ends it within ~0.1 s with exit 75 rather than after every case.
  dist::install_stop_signal_handlers();
  dist::StopExitsScope stoppable("evaluation");
  auto comm = dist::world();
  const bool root = comm->rank() == 0;
  eval::EvalOptions opts;
  opts.split = eval::parse_eval_split(vm["split"].as<std::string>());
  opts.protocols = eval::parse_protocols(vm["protocol"].as<std::string>());
  opts.beams = vm["beams"].as<int>();
  opts.batch_size = vm["batch-size"].as<int>();
  opts.max_cases = vm["max-cases"].as<int64_t>();
  GENSAR_INPUT_CHECK(opts.max_cases >= 0, "--max-cases must be >= 0, got {}", opts.max_cases);
  opts.exclude_history = vm["exclude-history"].as<bool>();
  if (opts.exclude_history && root)
    GENSAR_INFO("eval", "recommendation lists leave out the items of each case's rec history");
  for (const data::Task task : {data::Task::kRec, data::Task::kSearch}) {
    const std::string flag = std::string(data::task_name(task)) + "-level-weights";
    const std::string text = vm[flag].as<std::string>();
    std::vector<double> w = parse_level_weights(flag, text);
    if (w.empty()) continue;
    opts.level_weights[task] = std::move(w);
    if (root) GENSAR_INFO("eval", "{}: {}", flag, text);
  }
  const std::string baseline = vm["baseline"].as<std::string>();
  const std::string run = vm["run"].as<std::string>();
  const std::string checkpoint = vm["checkpoint"].as<std::string>();
  std::string out_dir = vm["out"].as<std::string>();
  const std::string tasks = vm["tasks"].as<std::string>();

  eval::EvalResult result;
  std::string run_dir;  // where metrics.json also goes (--run only)
  if (baseline != "none") {
    const BaselineKind& kind = find_baseline(baseline);
    GENSAR_INPUT_CHECK(run.empty() && checkpoint.empty(),
                       "--baseline evaluates a baseline: give --dataset, not --run/--checkpoint");
    const std::string dataset_dir = vm["dataset"].as<std::string>();
    GENSAR_INPUT_CHECK(!dataset_dir.empty(), "--baseline {} needs --dataset DIR", baseline);
    data::Dataset ds(dataset_dir);
    opts.tasks = eval::parse_eval_tasks(tasks != "auto" ? tasks : kind.tasks);
    auto candidates = maybe_candidates(dataset_dir, opts.protocols);
    eval::BatchRanker ranker;
    std::shared_ptr<seqrec::SasRec> sasrec;
    if (baseline == "popularity") {
      ranker = eval::popularity_ranker(ds, opts.beams);
    } else if (baseline == "query-clicks") {
      ranker = eval::query_click_ranker(ds, opts.beams);
    } else if (baseline == "transitions") {
      eval::TransitionOptions t;
      t.decay = vm["transition-decay"].as<double>();
      ranker = eval::transition_ranker(ds, opts.beams, t);
    } else if (baseline == "bm25") {
      // auto: the document the dataset's search negatives were drawn with (older datasets: all).
      std::string fields = vm["bm25-fields"].as<std::string>();
      if (fields == "auto") {
        fields = "all";
        if (fs::exists(fs::path(dataset_dir) / "candidates.h5")) {
          const std::string options_json =
              candidates ? candidates->options_json()
                         : data::load_eval_candidates(dataset_dir).options_json();
          auto meta = nlohmann::json::parse(options_json, nullptr, false);
          if (meta.is_object()) fields = meta.value("bm25_fields", fields);
        }
      }
      ranker = eval::bm25_ranker(ds, opts.beams, {}, data::parse_bm25_fields(fields));
      GENSAR_INFO("eval", "bm25 document: {}", fields);
    } else {
      std::string model_path = vm["sasrec-model"].as<std::string>();
      if (model_path.empty()) model_path = (fs::path(dataset_dir) / "sasrec_model.pt").string();
      GENSAR_INPUT_CHECK(fs::exists(model_path),
                         "--baseline sasrec: no model at {} (give --sasrec-model FILE from embed-collab)",
                         model_path);
      sasrec = std::make_shared<seqrec::SasRec>(seqrec::SasRec::load(model_path));
      GENSAR_INPUT_CHECK(sasrec->config().num_items == ds.num_items(),
                         "{}: SASRec model has {} items, the dataset {}", model_path,
                         sasrec->config().num_items, ds.num_items());
      sasrec->train(false);
      ranker = eval::sequence_ranker(
          ds, [sasrec](const std::vector<std::vector<int64_t>>& h) { return sasrec->score_all_batch(h); },
          opts.beams);
    }
    GENSAR_INFO("eval", "baseline {} on {} ({} split)", baseline, dataset_dir,
                data::split_name(opts.split));
    result = eval::evaluate_with(ranker, ds, candidates.get(), opts, comm.get());
  } else {
    GENSAR_INPUT_CHECK(run.empty() != checkpoint.empty(),
                       "gensar eval: give exactly one of --run RUN_DIR, --checkpoint DIR (or --baseline)");
    opts.tasks = eval::parse_eval_tasks(tasks == "auto" ? "both" : tasks);
    train::RunLoadOptions load;
    load.which = vm["which"].as<std::string>();
    load.dataset_dir = vm["dataset"].as<std::string>();
    train::LoadedRun loaded = train::load_run(run.empty() ? checkpoint : run, load);
    auto candidates = maybe_candidates(loaded.dataset->dir(), opts.protocols);
    GENSAR_INFO("eval", "{} (step {}) on {} ({} split)", loaded.checkpoint_dir, loaded.step,
                loaded.dataset->dir(), data::split_name(opts.split));
    result = eval::evaluate(*loaded.scorer, *loaded.builder, candidates.get(), opts, comm.get());
    if (out_dir.empty()) {
      const std::string base = run.empty() ? loaded.checkpoint_dir : run;
      out_dir = (fs::path(base) / "eval" / data::split_name(opts.split)).string();
    }
    run_dir = run;
  }
  if (!root) return 0;
  GENSAR_INFO("eval", "{} cases in {:.1f} s ({:.1f} cases/s)", result.cases, result.seconds,
              result.seconds > 0 ? result.cases / result.seconds : 0.0);
  if (!out_dir.empty()) {
    eval::write_eval_outputs(out_dir, result);
    if (!run_dir.empty() && opts.split == data::Split::kTest) {
      std::ofstream m(fs::path(run_dir) / "metrics.json");
      m << eval::metrics_json(result) << "\n";
    }
  }
  return print_json_or_table(vm, [&] { return eval::metrics_json(result); },
                             [&] { return eval::metrics_table(result); });
}

void add_eval_options(po::options_description& d) {
  d.add_options()
      ("run", po::value<std::string>()->default_value(""),
       "run directory (its best checkpoint, or latest with --which latest)")
      ("checkpoint", po::value<std::string>()->default_value(""), "a step-N checkpoint directory")
      ("which", po::value<std::string>()->default_value("best"), "best | latest (with --run)")
      ("dataset", po::value<std::string>()->default_value(""),
       "dataset directory (baselines; for a run: overrides the recorded one)")
      ("split", po::value<std::string>()->default_value("test"), "test | valid")
      ("protocol", po::value<std::string>()->default_value("candidates"),
       "candidates (true item + 99 fixed candidates) | full (catalogue) | both")
      ("tasks", po::value<std::string>()->default_value("auto"),
       "rec | search | both (auto: both, or the baseline's task)")
      ("beams", po::value<int>()->default_value(30), "beam width (ranked-list length)")
      ("batch-size", po::value<int>()->default_value(16), "cases decoded together")
      ("max-cases", po::value<int64_t>()->default_value(0),
       "cases per task (0 = all; else a fixed, evenly strided subset)")
      ("rec-level-weights", po::value<std::string>()->default_value(""),
       "recommendation beam search: weight of each identifier level's log-prob in the sequence "
       "score, level 0 first, e.g. 0.7 (missing levels weigh 1; docs/evaluation.md)")
      ("search-level-weights", po::value<std::string>()->default_value(""),
       "search beam search: the same per-level weights")
      ("exclude-history", po::bool_switch()->default_value(false),
       "recommendation: never rank an item of the case's rec history (as the candidates "
       "protocol's negatives; docs/evaluation.md)")
      ("out", po::value<std::string>()->default_value(""),
       "directory for metrics.json + cases.jsonl (default RUN/eval/SPLIT; baselines: none)")
      ("baseline", po::value<std::string>()->default_value("none"),
       ("none | " + baseline_names(" | ")).c_str())
      ("bm25-fields", po::value<std::string>()->default_value("auto"),
       "bm25 baseline document: auto (as the dataset's search negatives) | "
       "title-description | all")
      ("transition-decay", po::value<double>()->default_value(0.75),
       "transitions baseline: weight of each older click relative to the next newer one")
      ("sasrec-model", po::value<std::string>()->default_value(""),
       "SASRec weights from embed-collab (default DATASET/sasrec_model.pt)")
      ("json", po::bool_switch()->default_value(false), "print the metrics as JSON");
}

}  // namespace gensar::launch
