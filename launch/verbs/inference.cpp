// gensar recommend --run RUN --user U [--k 10]: the user's next items from a trained run
// (full-catalogue constrained beam search over collaborative IDs).
// gensar search --run RUN --user U --query "..." [--k 10]: personalised search results
// (the same over semantic IDs).
// Both share options, run loading, and single or batch (TSV -> JSONL) requests; the ranking itself
// is core/train/inference.h.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/common/check.h"
#include "core/train/inference.h"
#include "core/train/run_loader.h"
#include "launch/verbs.h"

namespace gensar::launch {
namespace {

void add_inference_options(po::options_description& d, bool search) {
  d.add_options()
      ("run", po::value<std::string>()->default_value(""),
       "run directory (its best checkpoint) or a step-N checkpoint directory")
      ("which", po::value<std::string>()->default_value("best"), "best | latest (for a run directory)")
      ("dataset", po::value<std::string>()->default_value(""), "override the run's dataset directory")
      ("user", po::value<std::string>()->default_value(""),
       "user key ('-' = a user with no history)")
      ("k", po::value<int64_t>()->default_value(10), "items to return")
      ("beams", po::value<int64_t>()->default_value(30), "beam width (at least k is used)")
      ("batch", po::value<std::string>()->default_value(""),
       search ? "TSV file of 'user<TAB>query' lines; writes JSONL (see --output)"
              : "file of user keys, one per line; writes JSONL (see --output)")
      ("output", po::value<std::string>()->default_value("-"), "JSONL output of --batch ('-' = stdout)")
      ("batch-size", po::value<int64_t>()->default_value(16), "requests decoded together")
      ("json", po::bool_switch()->default_value(false), "print one JSON line instead of a table");
  if (search) d.add_options()("query", po::value<std::string>()->default_value(""), "the search query");
  if (!search)
    d.add_options()("exclude-history", po::bool_switch()->default_value(false),
                    "leave out items the user has already clicked (give --beams above k plus their "
                    "number)");
}

int run_inference(const po::variables_map& vm, train::Task task) {
  const bool search = task == train::Task::kSearch;
  const char* verb = search ? "gensar search" : "gensar recommend";
  const std::string run = vm["run"].as<std::string>();
  GENSAR_INPUT_CHECK(!run.empty(), "{}: --run RUN_DIR is required", verb);
  const std::string batch = vm["batch"].as<std::string>();
  std::vector<train::InferenceRequest> requests;
  if (!batch.empty()) {
    requests = train::read_inference_requests(batch, search);
  } else {
    train::InferenceRequest r;
    r.user = vm["user"].as<std::string>();
    GENSAR_INPUT_CHECK(!r.user.empty(), "{}: give --user KEY ('-' for no history) or --batch FILE", verb);
    if (search) {
      r.query = vm["query"].as<std::string>();
      GENSAR_INPUT_CHECK(!r.query.empty(), "gensar search: --query is required");
    }
    requests.push_back(r);
  }
  train::RunLoadOptions load;
  load.which = vm["which"].as<std::string>();
  load.dataset_dir = vm["dataset"].as<std::string>();
  train::LoadedRun loaded = train::load_run(run, load);
  train::UserIndex users(*loaded.dataset);
  for (const auto& r : requests) users.find(r.user);  // unknown users fail before decoding
  const auto results = train::infer_top_k(*loaded.scorer, *loaded.builder, task, users, requests,
                                          vm["k"].as<int64_t>(), vm["beams"].as<int64_t>(),
                                          vm["batch-size"].as<int64_t>(),
                                          !search && vm["exclude-history"].as<bool>());
  if (!batch.empty()) {
    const std::string output = vm["output"].as<std::string>();
    std::ofstream file;
    if (output != "-") {
      file.open(output);
      GENSAR_INPUT_CHECK(file.good(), "{}: cannot write --output {}", verb, output);
    }
    std::ostream& out = output == "-" ? std::cout : file;
    for (size_t i = 0; i < requests.size(); ++i)
      out << train::inference_json(requests[i], results[i], search) << "\n";
    return 0;
  }
  return print_json_or_table(vm, [&] { return train::inference_json(requests[0], results[0], search); },
                             [&] { return train::inference_table(results[0]); });
}

}  // namespace

void add_recommend_options(po::options_description& d) { add_inference_options(d, false); }
int run_recommend(const po::variables_map& vm) { return run_inference(vm, train::Task::kRec); }

void add_search_options(po::options_description& d) { add_inference_options(d, true); }
int run_search(const po::variables_map& vm) { return run_inference(vm, train::Task::kSearch); }

}  // namespace gensar::launch
