// Ablation sweeps: a sweep file names variants of a base config; the plan says, for every variant
// and pipeline stage, whether the stage runs in that variant's workdir or reuses the identical stage
// of an earlier variant (docs/sweeps.md).
//
// Sweep file (INI-like; '#' or ';' comments):
//   [rec-only]                      one section per variant, the name is its workdir DIR/<name>
//   description = recommendation tasks only
//   train.tasks = rec,text_to_id    VERB.KEY = VALUE: overrides [VERB] KEY of the base config
//   seed = 7                        KEY = VALUE: overrides the top-level KEY (every verb having it)
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "launch/config.h"

namespace gensar::launch {

struct SweepOverride {
  std::string verb;  // "" = top level
  std::string key;
  std::string value;
  int line = 0;
};

struct SweepVariant {
  std::string name;
  std::string description;
  std::vector<SweepOverride> overrides;
  int line = 0;  // of its [name] header
};

// Parses and validates a sweep file against the verb table; errors name the file and line.
std::vector<SweepVariant> read_sweep_file(const std::string& path);

// The base config with one variant's overrides applied, as INI text (plus `[pipeline] workdir`
// when this build has the pipeline verb, so `gensar pipeline --config` on it runs that variant).
std::string variant_config_text(const IniFile& base, const std::string& base_path,
                                const SweepVariant& variant, const std::string& workdir);

struct PlannedStage {
  std::string stage;     // pipeline stage name
  std::string identity;  // hash of its resolved config with {work} unexpanded + inputs' identities
  std::string stamp;     // what `gensar pipeline` computes for it in this variant's workdir
  int owner = 0;         // variant whose workdir runs it (the first with this identity)
};

struct SweepPlan {
  std::string root;  // absolute sweep directory
  std::vector<SweepVariant> variants;
  std::vector<std::string> workdirs;      // absolute DIR/<variant>
  std::vector<std::string> config_paths;  // DIR/<variant>/sweep-config.ini
  std::vector<std::vector<PlannedStage>> stages;  // [variant][stage], pipeline order

  // True when a stage identity is used by more than one variant.
  bool shared(int variant, size_t stage) const;
};

// Writes every variant's merged config under `root` (the plan resolves stages from those files) and
// computes identities, stamps and owners for `stage_names` (a subset of pipeline_stages(), any order).
// With write_files false it reads the configs an earlier call wrote (ranks other than 0).
SweepPlan build_sweep_plan(const std::vector<SweepVariant>& variants, const std::string& base_config,
                           const std::string& root, const std::vector<std::string>& stage_names,
                           bool write_files = true);

// Paths (relative to a workdir) a pipeline stage produces: its {work} paths that no earlier stage
// names, plus its done-marker.
std::vector<std::string> stage_products(const std::string& stage);

// Whether the stage's output exists in `workdir` and its stamp file holds `stamp`.
bool stage_is_fresh(const std::string& workdir, const std::string& stage, const std::string& stamp);

// The plan as text: one block per selected variant, one line per stage (run / up to date / reuse).
void print_sweep_plan(const SweepPlan& plan, const std::vector<int>& selected, std::ostream& out);

// A Slurm submission script: one job runs the shared stages (`gensar sweep --shared-only`), then a
// job array over cluster/sweep.sbatch runs `gensar pipeline` on each selected variant's config.
// Also writes DIR/sweep-configs.txt (one config per line, the array's input).
std::string slurm_submit_script(const SweepPlan& plan, const std::vector<int>& selected,
                                const std::string& base_config, const std::string& sweep_file,
                                const std::string& gensar_binary);

}  // namespace gensar::launch
