#include "launch/sweep_plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/read_file.h"
#include "core/common/strings.h"
#include "data_pipeline/checksum.h"
#include "launch/pipeline_stages.h"

namespace fs = std::filesystem;

namespace gensar::launch {
namespace {

constexpr const char* kWork = "{work}";


const PipelineStage& find_stage(const std::string& name) {
  for (const PipelineStage& s : pipeline_stages())
    if (s.name == name) return s;
  throw InputError(fmt::format("unknown pipeline stage '{}' (stages: {})", name,
                               default_pipeline_stages()));
}

bool has_option(const Verb& verb, const std::string& key) {
  return verb_options(verb).find_nothrow(key, false) != nullptr;
}

// Keys every stage of `verb` gets from the pipeline (paths wiring stages together).
std::set<std::string> wired_keys(const std::string& verb) {
  std::set<std::string> keys;
  for (const PipelineStage& s : pipeline_stages())
    if (s.verb == verb)
      for (const auto& [key, value] : s.overrides) keys.insert(key);
  return keys;
}


}  // namespace

std::vector<SweepVariant> read_sweep_file(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open sweep file '{}'", path);
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]*");
  std::vector<SweepVariant> variants;
  std::set<std::string> names;
  std::set<std::pair<std::string, std::string>> seen_keys;  // of the current variant
  std::string raw;
  for (int line_no = 1; std::getline(in, raw); ++line_no) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      GENSAR_INPUT_CHECK(line.back() == ']', "{}:{}: malformed variant header '{}'", path, line_no,
                         line);
      const std::string name = trim(line.substr(1, line.size() - 2));
      GENSAR_INPUT_CHECK(std::regex_match(name, kName) && name != "." && name != "..",
                         "{}:{}: variant name '{}' must be letters, digits, '_', '.', '-' (it names a "
                         "directory)",
                         path, line_no, name);
      GENSAR_INPUT_CHECK(names.insert(name).second, "{}:{}: variant [{}] defined twice", path,
                         line_no, name);
      variants.push_back(SweepVariant{name, "", {}, line_no});
      seen_keys.clear();
      continue;
    }
    const size_t eq = line.find('=');
    GENSAR_INPUT_CHECK(eq != std::string::npos, "{}:{}: expected 'verb.key = value', got '{}'", path,
                       line_no, line);
    GENSAR_INPUT_CHECK(!variants.empty(), "{}:{}: '{}' comes before any [variant] header", path,
                       line_no, line);
    SweepVariant& variant = variants.back();
    const std::string lhs = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    GENSAR_INPUT_CHECK(!lhs.empty(), "{}:{}: empty key", path, line_no);
    if (lhs == "description") {
      variant.description = value;
      continue;
    }
    SweepOverride o;
    o.value = value;
    o.line = line_no;
    const size_t dot = lhs.find('.');
    if (dot == std::string::npos) {
      o.key = lhs;
      bool known = false;
      for (const Verb& v : all_verbs()) known = known || has_option(v, o.key);
      GENSAR_INPUT_CHECK(known, "{}:{}: unknown key '{}' (no verb has this option)", path, line_no,
                         o.key);
    } else {
      o.verb = lhs.substr(0, dot);
      o.key = lhs.substr(dot + 1);
      const Verb* verb = find_verb(o.verb);
      GENSAR_INPUT_CHECK(verb != nullptr, "{}:{}: unknown verb '{}' in '{}'", path, line_no, o.verb,
                         lhs);
      GENSAR_INPUT_CHECK(has_option(*verb, o.key), "{}:{}: verb {} has no option '{}'", path,
                         line_no, o.verb, o.key);
      GENSAR_INPUT_CHECK(!wired_keys(o.verb).count(o.key),
                         "{}:{}: {}.{} is set by the pipeline (it wires the stages' files)", path,
                         line_no, o.verb, o.key);
    }
    GENSAR_INPUT_CHECK(o.key != "config", "{}:{}: 'config' cannot be overridden", path, line_no);
    GENSAR_INPUT_CHECK(seen_keys.insert({o.verb, o.key}).second, "{}:{}: '{}' set twice in [{}]",
                       path, line_no, lhs, variant.name);
    variant.overrides.push_back(o);
  }
  GENSAR_INPUT_CHECK(!variants.empty(), "{}: no [variant] sections", path);
  return variants;
}

std::string variant_config_text(const IniFile& base, const std::string& base_path,
                                const SweepVariant& variant, const std::string& workdir) {
  std::map<std::string, std::map<std::string, std::string>> merged;
  for (const auto& [section, entries] : base)
    for (const auto& [key, entry] : entries) merged[section][key] = entry.value;
  for (const SweepOverride& o : variant.overrides) merged[o.verb][o.key] = o.value;
  if (find_verb("pipeline") != nullptr) merged["pipeline"]["workdir"] = workdir;

  std::ostringstream out;
  out << "# Generated by `gensar sweep`: " << base_path << " with the overrides of variant ["
      << variant.name << "]" << (variant.description.empty() ? "" : ": " + variant.description)
      << "\n";
  for (const auto& [section, entries] : merged) {  // "" (top level) sorts first
    if (!section.empty()) out << "\n[" << section << "]\n";
    for (const auto& [key, value] : entries) out << key << " = " << value << "\n";
  }
  return out.str();
}

bool SweepPlan::shared(int variant, size_t stage) const {
  const std::string& id = stages[variant][stage].identity;
  for (size_t v = 0; v < stages.size(); ++v)
    if (static_cast<int>(v) != variant && stages[v][stage].identity == id) return true;
  return false;
}

SweepPlan build_sweep_plan(const std::vector<SweepVariant>& variants, const std::string& base_config,
                           const std::string& root, const std::vector<std::string>& stage_names,
                           bool write_files) {
  SweepPlan plan;
  plan.root = fs::absolute(root).lexically_normal().string();
  plan.variants = variants;
  std::vector<const PipelineStage*> stages;
  for (const PipelineStage& s : pipeline_stages())
    if (std::find(stage_names.begin(), stage_names.end(), s.name) != stage_names.end())
      stages.push_back(&s);
  for (const std::string& name : stage_names) find_stage(name);  // rejects unknown names

  const IniFile base = read_ini(base_config);
  if (write_files) {
    fs::create_directories(plan.root);
    std::ofstream order(fs::path(plan.root) / "variants.txt");  // `gensar report` lists rows in it
    for (const SweepVariant& v : variants) order << v.name << "\n";
  }
  std::map<std::string, int> owner_of;  // stage identity -> first variant
  for (size_t v = 0; v < variants.size(); ++v) {
    const std::string work = (fs::path(plan.root) / variants[v].name).string();
    const std::string config_path = (fs::path(work) / "sweep-config.ini").string();
    if (write_files) {
      fs::create_directories(work);
      write_file_atomically(config_path, variant_config_text(base, base_config, variants[v], work));
    }
    plan.workdirs.push_back(work);
    plan.config_paths.push_back(config_path);
    std::map<std::string, std::string> identities, stamps;
    std::vector<PlannedStage> row;
    for (const PipelineStage* stage : stages) {
      PlannedStage p;
      p.stage = stage->name;
      try {
        p.identity = stage_stamp(*stage, config_path, kWork, identities);
      } catch (const InputError& e) {
        throw InputError(fmt::format("variant [{}], stage {}: {}", variants[v].name, stage->name,
                                     e.what()));
      }
      p.stamp = stage_stamp(*stage, config_path, work, stamps);
      identities[p.stage] = p.identity;
      stamps[p.stage] = p.stamp;
      p.owner = owner_of.emplace(p.stage + "/" + p.identity, static_cast<int>(v)).first->second;
      row.push_back(p);
    }
    plan.stages.push_back(std::move(row));
  }
  return plan;
}

std::vector<std::string> stage_products(const std::string& stage) {
  std::set<std::string> claimed;
  for (const PipelineStage& s : pipeline_stages()) {
    std::vector<std::string> mine;
    auto claim = [&](const std::string& value) {
      if (value.rfind(std::string(kWork) + "/", 0) != 0) return;
      const std::string rel = value.substr(6 + 1);
      for (const std::string& c : claimed)  // already produced, or inside something produced
        if (rel == c || rel.rfind(c + "/", 0) == 0) return;
      claimed.insert(rel);
      mine.push_back(rel);
    };
    for (const auto& [key, value] : s.overrides) claim(value);
    claim(s.output);
    if (s.name == stage) return mine;
  }
  throw InputError(fmt::format("unknown pipeline stage '{}'", stage));
}

bool stage_is_fresh(const std::string& workdir, const std::string& stage, const std::string& stamp) {
  const fs::path stamp_path = fs::path(workdir) / ".stamps" / stage;
  return fs::exists(expand_work(find_stage(stage).output, workdir)) && fs::exists(stamp_path) &&
         read_file(stamp_path.string()) == stamp;
}

void print_sweep_plan(const SweepPlan& plan, const std::vector<int>& selected, std::ostream& out) {
  int runs = 0, reuses = 0, fresh = 0;
  for (int v : selected) {
    out << fmt::format("variant {}  ({})\n", plan.variants[v].name, plan.workdirs[v]);
    if (!plan.variants[v].description.empty()) out << "  # " << plan.variants[v].description << "\n";
    for (const SweepOverride& o : plan.variants[v].overrides)
      out << fmt::format("  override {}{} = {}\n", o.verb.empty() ? "" : o.verb + ".", o.key, o.value);
    for (size_t s = 0; s < plan.stages[v].size(); ++s) {
      const PlannedStage& p = plan.stages[v][s];
      std::string what;
      if (p.owner != v) {
        what = "reuse " + plan.variants[p.owner].name;
        ++reuses;
      } else if (stage_is_fresh(plan.workdirs[v], p.stage, p.stamp)) {
        what = "up to date";
        ++fresh;
      } else {
        what = "run";
        ++runs;
      }
      out << fmt::format("  {:<22}{:<28}{}\n", p.stage, what, plan.shared(v, s) ? "(shared)" : "");
    }
  }
  out << fmt::format("{} stage runs, {} reused from another variant, {} up to date\n", runs, reuses,
                     fresh);
}

std::string slurm_submit_script(const SweepPlan& plan, const std::vector<int>& selected,
                                const std::string& base_config, const std::string& sweep_file,
                                const std::string& gensar_binary) {
  const fs::path list = fs::path(plan.root) / "sweep-configs.txt";
  {
    std::ofstream out(list);
    for (int v : selected) out << plan.config_paths[v] << "\n";
  }
  std::string only;
  for (int v : selected) only += (only.empty() ? "" : ",") + plan.variants[v].name;
  std::ostringstream s;
  s << "#!/usr/bin/env bash\n"
    << "# Generated by `gensar sweep --slurm-array` (docs/sweeps.md). Run from the project root.\n"
    << "# Job 1 runs the stages that several variants share (once) and links them into each\n"
    << "# variant's workdir; then one array task per variant runs `gensar pipeline` on its config\n"
    << "# (cluster/sweep.sbatch), which finds the shared stages up to date.\n"
    << "set -euo pipefail\n"
    << "GENSAR=\"${GENSAR:-" << gensar_binary << "}\"\n"
    << "shared=$(sbatch --parsable --job-name=gensar-sweep-shared --nodes=1 --ntasks-per-node=2 \\\n"
    << "  --output=" << plan.root << "/sweep-shared-%j.out \\\n"
    << "  --wrap \"srun --mpi=pmix --kill-on-bad-exit=1 $GENSAR sweep --config " << base_config
    << " --sweep " << sweep_file << " --workdir " << plan.root << " --only " << only
    << " --shared-only\")\n"
    << "sbatch --dependency=afterok:$shared --array=0-" << (selected.size() - 1)
    << " --output=" << plan.root << "/sweep-%A_%a.out"
    << " --export=ALL,SWEEP=" << list.string() << ",GENSAR=$GENSAR cluster/sweep.sbatch\n";
  return s.str();
}

}  // namespace gensar::launch
