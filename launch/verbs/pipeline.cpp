// gensar pipeline: runs every stage whose output is missing or stale, then prints the metrics table.
//
// A stage is stale when the hash of its resolved configuration and of its inputs' stamps differs
// from the stamp it left (workdir/.stamps/<stage>), so editing one section of the config reruns that
// stage and everything downstream, and nothing else. Stages talk through files in the workdir.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "distributed/communicator.h"
#include "launch/pipeline_stages.h"
#include "launch/verbs.h"

namespace fs = std::filesystem;

namespace gensar::launch {
namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, path);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int run_pipeline(const po::variables_map& vm) {
  const std::string config = vm.count("config") ? vm["config"].as<std::string>() : "";
  const std::string work = fs::absolute(vm["workdir"].as<std::string>()).lexically_normal().string();
  const std::vector<std::string> wanted = split_list(vm["stages"].as<std::string>());
  const bool force = vm["force"].as<bool>();
  auto world = dist::world();
  const bool root = world->rank() == 0;
  if (root) fs::create_directories(fs::path(work) / ".stamps");
  world->barrier();

  std::map<std::string, std::string> stamps;  // stage -> stamp of this run
  for (const PipelineStage& stage : pipeline_stages()) {
    if (std::find(wanted.begin(), wanted.end(), stage.name) == wanted.end()) continue;
    const std::string stamp = stage_stamp(stage, config, work, stamps);
    stamps[stage.name] = stamp;
    const fs::path stamp_path = fs::path(work) / ".stamps" / stage.name;
    const fs::path output = expand_work(stage.output, work);
    const bool fresh = !force && fs::exists(output) && fs::exists(stamp_path) &&
                       read_file(stamp_path) == stamp;
    if (fresh) {
      GENSAR_INFO("pipeline", "{}: up to date ({})", stage.name, output.string());
      continue;
    }
    GENSAR_INFO("pipeline", "{}: running gensar {}", stage.name, stage.verb);
    const int rc = find_verb(stage.verb)->run(resolve_stage(stage, config, work));
    if (rc != 0) {
      GENSAR_ERROR("pipeline", "{} failed with status {}", stage.name, rc);
      return rc;
    }
    world->barrier();
    if (root) write_file(stamp_path, stamp);
  }
  if (root) print_pipeline_report(work, std::cout);
  return 0;
}

}  // namespace

Verb verb_pipeline() {
  return Verb{
      "pipeline",
      "run every stage whose output is missing or stale, then print the metrics table",
      [](po::options_description& d) {
        d.add_options()
            ("workdir", po::value<std::string>()->default_value("runs/demo"),
             "directory holding every stage's output")
            ("stages", po::value<std::string>()->default_value(default_pipeline_stages()),
             "comma-separated stages to run, in pipeline order")
            ("force", po::bool_switch(), "rerun every selected stage even if up to date");
      },
      {},
      run_pipeline};
}

}  // namespace gensar::launch
