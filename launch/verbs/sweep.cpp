// gensar sweep: runs the pipeline for every variant of a sweep file (base config + overrides), each
// in DIR/<variant>. A stage whose resolved config and inputs are the same as an earlier variant's
// runs once, in that variant's workdir, and the later variants get symlinks to its outputs plus the
// stamp `gensar pipeline` would write, so the pipeline itself also sees them as up to date.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "distributed/communicator.h"
#include "launch/pipeline_stages.h"
#include "launch/sweep_plan.h"
#include "launch/verbs.h"

namespace fs = std::filesystem;

namespace gensar::launch {

namespace {

// Replaces `link` (whatever is there) by a relative symlink to `target`.
void link_to(const fs::path& target, const fs::path& link) {
  fs::create_directories(link.parent_path());
  if (fs::exists(fs::symlink_status(link))) fs::remove_all(link);
  fs::create_symlink(fs::relative(target, link.parent_path()), link);
}

// Links a product and its siblings named like it (e.g. metrics/bm25.json -> metrics/bm25.cases.jsonl,
// metrics/bm25/), so per-case files written beside a metrics file travel with it.
void link_product(const fs::path& owner_work, const fs::path& work, const std::string& rel) {
  const fs::path target = owner_work / rel;
  const fs::path dir = target.parent_path();
  const std::string stem = target.stem().string();
  link_to(target, work / rel);
  if (!fs::is_directory(dir)) return;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path() == target) continue;
    if (name == stem || name.rfind(stem + ".", 0) == 0)
      link_to(entry.path(), work / fs::path(rel).parent_path() / name);
  }
}

class SweepRunner {
 public:
  SweepRunner(const SweepPlan& plan, bool force) : plan_(plan), force_(force), world_(dist::world()) {}

  // Makes stage `s` of variant `v` up to date: reuses the owner's run or runs it here.
  int ensure(int v, size_t s) {
    if (!done_.insert({v, s}).second) return 0;
    const PlannedStage& p = plan_.stages[v][s];
    const PipelineStage& stage = stage_by_name(p.stage);
    for (const std::string& input : stage.inputs)
      for (size_t i = 0; i < plan_.stages[v].size(); ++i)
        if (plan_.stages[v][i].stage == input)
          if (int rc = ensure(v, i)) return rc;
    const fs::path work = plan_.workdirs[v];
    if (p.owner != v) {
      if (int rc = ensure(p.owner, s)) return rc;
      if (world_->rank() == 0) {
        fs::create_directories(work / ".stamps");
        for (const std::string& rel : stage_products(p.stage))
          link_product(plan_.workdirs[p.owner], work, rel);
        write_file_atomically((work / ".stamps" / p.stage).string(), p.stamp);
      }
      world_->barrier();
      GENSAR_INFO("sweep", "{}/{}: reused from {}", plan_.variants[v].name, p.stage,
                  plan_.variants[p.owner].name);
      return 0;
    }
    if (!force_ && stage_is_fresh(work.string(), p.stage, p.stamp)) {
      GENSAR_INFO("sweep", "{}/{}: up to date", plan_.variants[v].name, p.stage);
      return 0;
    }
    if (world_->rank() == 0) {
      fs::create_directories(work / ".stamps");
      // A product that is a link into another variant must not be written through.
      for (const std::string& rel : stage_products(p.stage))
        if (fs::is_symlink(fs::symlink_status(work / rel))) fs::remove(work / rel);
    }
    world_->barrier();
    GENSAR_INFO("sweep", "{}/{}: running gensar {}", plan_.variants[v].name, p.stage, stage.verb);
    // Same stamp and pending-resume rule as `gensar pipeline`.
    const int rc = run_stage(stage, plan_.config_paths[v], work.string(), p.stamp, force_, *world_);
    if (rc != 0) {
      GENSAR_ERROR("sweep", "{}/{} failed with status {}", plan_.variants[v].name, p.stage, rc);
      return rc;
    }
    return 0;
  }

 private:
  static const PipelineStage& stage_by_name(const std::string& name) {
    for (const PipelineStage& s : pipeline_stages())
      if (s.name == name) return s;
    GENSAR_CHECK(false, "no pipeline stage {}", name);
    return pipeline_stages().front();
  }

  const SweepPlan& plan_;
  bool force_;
  std::shared_ptr<dist::Communicator> world_;
  std::set<std::pair<int, size_t>> done_;
};

}  // namespace

int run_sweep(const po::variables_map& vm) {
  GENSAR_INPUT_CHECK(vm.count("config"), "gensar sweep: --config BASE.ini is required");
  const std::string base = vm["config"].as<std::string>();
  const std::string sweep_file = vm["sweep"].as<std::string>();
  const std::string root = vm["workdir"].as<std::string>();
  auto world = dist::world();
  const bool is_root = world->rank() == 0;

  const std::vector<SweepVariant> variants = read_sweep_file(sweep_file);
  std::vector<int> selected;
  const std::vector<std::string> only = split_list(vm["only"].as<std::string>());
  for (const std::string& name : only) {
    auto it = std::find_if(variants.begin(), variants.end(),
                           [&](const SweepVariant& v) { return v.name == name; });
    GENSAR_INPUT_CHECK(it != variants.end(), "gensar sweep --only: {} has no variant [{}]",
                       sweep_file, name);
    selected.push_back(static_cast<int>(it - variants.begin()));
  }
  if (only.empty())
    for (size_t v = 0; v < variants.size(); ++v) selected.push_back(static_cast<int>(v));

  // Every rank builds the same plan; rank 0 writes the variant configs first.
  SweepPlan plan;
  const std::vector<std::string> stages = split_list(vm["stages"].as<std::string>());
  if (is_root) plan = build_sweep_plan(variants, base, root, stages);
  world->barrier();
  if (!is_root) plan = build_sweep_plan(variants, base, root, stages, /*write_files=*/false);

  if (vm["dry-run"].as<bool>()) {
    if (is_root) print_sweep_plan(plan, selected, std::cout);
    return 0;
  }
  if (vm["slurm-array"].as<bool>()) {
    if (is_root) {
      const std::string script =
          slurm_submit_script(plan, selected, fs::absolute(base).string(),
                              fs::absolute(sweep_file).string(), vm["gensar-binary"].as<std::string>());
      const fs::path path = fs::path(plan.root) / "submit-sweep.sh";
      write_file_atomically(path.string(), script);
      fs::permissions(path, fs::perms::owner_exec, fs::perm_options::add);
      std::cout << script << "# written to " << path.string() << "\n";
    }
    return 0;
  }

  const bool shared_only = vm["shared-only"].as<bool>();
  SweepRunner runner(plan, vm["force"].as<bool>());
  for (int v : selected)
    for (size_t s = 0; s < plan.stages[v].size(); ++s) {
      if (shared_only && !plan.shared(v, s)) continue;
      if (int rc = runner.ensure(v, s)) return rc;
    }
  bool any_metrics = false;  // e.g. none when --stages stops before eval
  for (int v : selected) any_metrics = any_metrics || fs::is_directory(fs::path(plan.workdirs[v]) / "metrics");
  if (is_root && !shared_only && any_metrics) {
    if (const Verb* report = find_verb("report"))
      return report->run(resolve(*report, {plan.root, "--markdown=" + plan.root + "/report.md",
                                           "--json-out=" + plan.root + "/report.json"}));
  }
  return 0;
}

void add_sweep_options(po::options_description& d) {
  d.add_options()
      ("sweep", po::value<std::string>()->required(),
       "sweep file: [variant] sections of verb.key = value overrides (docs/sweeps.md)")
      ("workdir", po::value<std::string>()->default_value("runs/sweep"),
       "sweep directory; variant NAME runs in WORKDIR/NAME")
      ("only", po::value<std::string>()->default_value(""),
       "comma-separated variants to run (default all; stages they share with others still "
       "run in the first variant that has them)")
      ("stages", po::value<std::string>()->default_value(default_pipeline_stages()),
       "comma-separated pipeline stages")
      ("dry-run", po::bool_switch()->default_value(false),
       "write the variants' configs and print the plan; run nothing")
      ("slurm-array", po::bool_switch()->default_value(false),
       "write WORKDIR/submit-sweep.sh (a shared-stages job, then a job array over "
       "cluster/sweep.sbatch, one task per variant) and print it; run nothing")
      ("gensar-binary", po::value<std::string>()->default_value("build/launch/gensar"),
       "gensar binary path written into the Slurm script")
      ("shared-only", po::bool_switch()->default_value(false),
       "run only the stages that several variants share (the Slurm script's first job)")
      ("force", po::bool_switch()->default_value(false),
       "rerun the selected variants' own stages even if up to date");
}

}  // namespace gensar::launch
