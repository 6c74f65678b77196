// gensar pipeline: runs every stage whose output is missing or stale, then prints the metrics table.
//
// A stage is stale when the hash of its resolved configuration and of its inputs' stamps differs
// from the stamp it left (workdir/.stamps/<stage>), so editing one section of the config reruns that
// stage and everything downstream, and nothing else. Stages talk through files in the workdir.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/log.h"
#include "core/common/read_file.h"
#include "core/common/strings.h"
#include "distributed/communicator.h"
#include "launch/pipeline_stages.h"
#include "launch/report.h"
#include "launch/verbs.h"

namespace fs = std::filesystem;

namespace gensar::launch {

namespace {

// With --json, stdout carries one JSON document: what the stages print goes to stderr meanwhile.
class StdoutToStderr {
 public:
  explicit StdoutToStderr(bool on) {
    if (!on) return;
    std::cout.flush();
    std::fflush(stdout);
    saved_ = ::dup(1);
    ::dup2(2, 1);
  }
  ~StdoutToStderr() { restore(); }
  void restore() {
    if (saved_ < 0) return;
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved_, 1);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  int saved_ = -1;
};

}  // namespace

int run_pipeline(const po::variables_map& vm) {
  const std::string config = vm.count("config") ? vm["config"].as<std::string>() : "";
  const std::string work = fs::absolute(vm["workdir"].as<std::string>()).lexically_normal().string();
  const std::vector<std::string> wanted = split_list(vm["stages"].as<std::string>());
  const bool force = vm["force"].as<bool>();
  const bool as_json = vm["json"].as<bool>();
  auto world = dist::world();
  const bool root = world->rank() == 0;
  if (root) fs::create_directories(fs::path(work) / ".stamps");
  world->barrier();

  nlohmann::json summary = {{"workdir", work}, {"stages", nlohmann::json::array()}};
  std::map<std::string, std::string> stamps;  // stage -> stamp of this run
  {
    StdoutToStderr quiet(as_json && root);
    for (const PipelineStage& stage : pipeline_stages()) {
      if (std::find(wanted.begin(), wanted.end(), stage.name) == wanted.end()) continue;
      const std::string stamp = stage_stamp(stage, config, work, stamps);
      stamps[stage.name] = stamp;
      const fs::path stamp_path = fs::path(work) / ".stamps" / stage.name;
      const fs::path output = expand_work(stage.output, work);
      const bool fresh = !force && fs::exists(output) && fs::exists(stamp_path) &&
                         read_file(stamp_path.string()) == stamp;
      if (fresh) {
        GENSAR_INFO("pipeline", "{}: up to date ({})", stage.name, output.string());
        summary["stages"].push_back({{"stage", stage.name}, {"status", "up-to-date"},
                                     {"output", output.string()}});
        continue;
      }
      const auto t0 = std::chrono::steady_clock::now();
      const int rc = run_stage(stage, config, work, stamp, force, *world);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rc != 0) {
        GENSAR_ERROR("pipeline", "{} failed with status {}", stage.name, rc);
        summary["stages"].push_back({{"stage", stage.name}, {"status", "failed"}, {"exit_code", rc},
                                     {"seconds", seconds}});
        summary["exit_code"] = rc;
        if (as_json && root) {
          quiet.restore();
          std::cout << summary.dump(2) << "\n";
        }
        return rc;
      }
      summary["stages"].push_back({{"stage", stage.name}, {"status", "ran"},
                                   {"output", output.string()}, {"seconds", seconds}});
    }
  }
  if (!root) return 0;

  // The metrics files, the table and the page beside them.
  summary["metrics"] = nlohmann::json::object();
  const fs::path metrics_dir = fs::path(work) / "metrics";
  if (fs::is_directory(metrics_dir))
    for (const auto& e : fs::directory_iterator(metrics_dir))
      if (fs::is_regular_file(e.path() / "metrics.json"))
        summary["metrics"][e.path().filename().string()] = (e.path() / "metrics.json").string();
  const fs::path run_metrics = fs::path(work) / "run" / "metrics.jsonl";
  if (fs::is_regular_file(run_metrics)) summary["training_metrics"] = run_metrics.string();
  if (!summary["metrics"].empty()) {
    const fs::path html = fs::path(work) / "report.html";
    ReportOptions options;
    options.dirs = {work};
    const ReportOutput report = build_report(options);
    write_file_atomically(html.string(), report.html);
    summary["report"] = html.string();
    summary["tables"] = report.json;
  }
  summary["exit_code"] = 0;
  if (as_json) {
    std::cout << summary.dump(2) << "\n";
    return 0;
  }
  print_pipeline_report(work, std::cout);
  std::cout << "\nmetrics: " << metrics_dir.string() << "/*/metrics.json";
  if (summary.contains("training_metrics"))
    std::cout << "; training curve: " << summary["training_metrics"].get<std::string>();
  std::cout << "\n";
  if (summary.contains("report")) std::cout << "report:  " << summary["report"].get<std::string>() << "\n";
  std::cout.flush();
  return 0;
}

void add_pipeline_options(po::options_description& d) {
  d.add_options()
      ("workdir", po::value<std::string>()->default_value("runs/demo"),
       "directory holding every stage's output")
      ("stages", po::value<std::string>()->default_value(default_pipeline_stages()),
       "comma-separated stages to run, in pipeline order")
      ("force", po::bool_switch(), "rerun every selected stage even if up to date")
      ("json", po::bool_switch()->default_value(false),
       "print one JSON summary (stages run, metrics files, report page, tables) on stdout; "
       "what the stages print goes to stderr");
}

}  // namespace gensar::launch
