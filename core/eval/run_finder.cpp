#include "core/eval/run_finder.h"

#include <algorithm>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/common/check.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace gensar::eval {

json read_json_object(const fs::path& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "gensar report: cannot open {}", path.string());
  try {
    json j = json::parse(in);
    GENSAR_INPUT_CHECK(j.is_object(), "gensar report: {} is not a JSON object", path.string());
    return j;
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("gensar report: {}: {}", path.string(), e.what()));
  }
}

namespace {

// Per-case results written beside metrics/X.json.
std::string find_cases(const fs::path& metrics_file) {
  const fs::path dir = metrics_file.parent_path();
  const std::string stem = metrics_file.stem().string();
  for (const std::string& name : {stem + ".jsonl", stem + ".cases.jsonl"})
    if (fs::is_regular_file(dir / name)) return (dir / name).string();
  for (const std::string& name : {stem + ".cases", stem})
    if (fs::is_directory(dir / name)) return (dir / name).string();
  return "";
}

EvaluatedRun make_run(const fs::path& file, const std::string& label, bool baseline) {
  EvaluatedRun s;
  s.label = label;
  s.baseline = baseline;
  s.metrics_file = file;
  s.canonical = fs::weakly_canonical(file).string();
  s.metrics = read_json_object(file);
  s.cases = find_cases(file);
  if (s.cases.empty() && file.filename() == "metrics.json" &&
      fs::is_regular_file(file.parent_path() / "cases.jsonl"))
    s.cases = (file.parent_path() / "cases.jsonl").string();
  return s;
}

bool is_workdir(const fs::path& dir) { return fs::is_directory(dir / "metrics"); }

void add_workdir(const fs::path& dir, std::vector<EvaluatedRun>& out) {
  std::vector<fs::path> files;
  // metrics/X.json, or metrics/X/metrics.json as `gensar eval --out metrics/X` writes it.
  for (const auto& e : fs::directory_iterator(dir / "metrics")) {
    if (e.path().extension() == ".json" && fs::is_regular_file(e.path())) files.push_back(e.path());
    if (fs::is_directory(e.path()) && fs::is_regular_file(e.path() / "metrics.json"))
      files.push_back(e.path() / "metrics.json");
  }
  std::sort(files.begin(), files.end());
  const std::string name = fs::absolute(dir).lexically_normal().filename().string();
  for (const fs::path& f : files) {
    const std::string system = f.filename() == "metrics.json" ? f.parent_path().filename().string()
                                                              : f.stem().string();
    const bool own = system == "gensar";
    out.push_back(make_run(f, own ? name : system, !own));
    if (own) out.back().workdir = dir;
  }
}

}  // namespace

std::vector<EvaluatedRun> find_runs(const std::vector<std::string>& paths) {
  std::vector<EvaluatedRun> found;
  for (const std::string& p : paths) {
    const fs::path path(p);
    if (fs::is_regular_file(path)) {
      found.push_back(make_run(path, path.stem().string(), false));
    } else if (is_workdir(path)) {
      add_workdir(path, found);
    } else if (fs::is_directory(path)) {
      std::vector<std::string> names;
      if (std::ifstream order(path / "variants.txt"); order.good())
        for (std::string line; std::getline(order, line);)
          if (!line.empty()) names.push_back(line);
      std::vector<std::string> rest;
      for (const auto& e : fs::directory_iterator(path))
        if (is_workdir(e.path()) &&
            std::find(names.begin(), names.end(), e.path().filename().string()) == names.end())
          rest.push_back(e.path().filename().string());
      std::sort(rest.begin(), rest.end());
      names.insert(names.end(), rest.begin(), rest.end());
      size_t before = found.size();
      for (const std::string& n : names)
        if (is_workdir(path / n)) add_workdir(path / n, found);
      GENSAR_INPUT_CHECK(found.size() > before, "gensar report: {} holds no metrics (no metrics/ in "
                         "it or its sub-directories)", p);
    } else {
      throw InputError(fmt::format("gensar report: {} does not exist", p));
    }
  }
  // Own models first (in the order given), then baselines; a baseline shared by several
  // workdirs (the same file through links) appears once.
  std::vector<EvaluatedRun> systems;
  for (const EvaluatedRun& s : found)
    if (!s.baseline) systems.push_back(s);
  std::map<std::string, int> label_count;
  std::vector<EvaluatedRun> baselines;
  for (const EvaluatedRun& s : found) {
    if (!s.baseline) continue;
    bool dup = false;
    for (const EvaluatedRun& b : baselines) dup = dup || b.canonical == s.canonical;
    if (dup) continue;
    baselines.push_back(s);
    ++label_count[s.label];
  }
  for (EvaluatedRun& b : baselines) {
    if (label_count[b.label] > 1)
      b.label += " (" + b.metrics_file.parent_path().parent_path().filename().string() + ")";
    systems.push_back(b);
  }
  for (size_t i = 0; i < systems.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      GENSAR_INPUT_CHECK(systems[i].label != systems[j].label,
                         "gensar report: two runs are named '{}' ({} and {})", systems[i].label,
                         systems[j].metrics_file.string(), systems[i].metrics_file.string());
  return systems;
}

}  // namespace gensar::eval
