// build_report (launch/report.h), behind `gensar report DIR...`: one table per evaluation protocol across runs (sweep variants, workdirs,
// baselines), the best value per column marked, and where both a run and the reference have per-case
// JSONL results, the paired significance of their difference (core/eval/significance.h).
//
// A DIR is a metrics file (X.json), a workdir (metrics/*.json: gensar.json is the workdir's own
// model, named after the workdir; the others are baselines named by file), or a sweep directory
// (its sub-directories that are workdirs, in the order of its variants.txt). docs/sweeps.md.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/eval/case_records.h"
#include "core/eval/metrics.h"
#include "core/eval/significance.h"
#include "launch/report.h"
#include "launch/report_html.h"
#include "core/eval/run_finder.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace gensar::launch {

namespace {

std::vector<std::string> all_columns() {
  std::vector<std::string> cols;
  for (const std::string task : {"rec", "search"})
    for (const std::string& m : eval::metric_names()) cols.push_back(task + "." + m);
  return cols;
}

std::optional<double> value_of(const eval::EvaluatedRun& s, const std::string& protocol, const std::string& col) {
  if (!s.metrics.contains(protocol) || !s.metrics[protocol].is_object()) return std::nullopt;
  const json& row = s.metrics[protocol];
  if (!row.contains(col) || !row[col].is_number()) return std::nullopt;
  return row[col].get<double>();
}

struct Significance {
  std::map<std::string, eval::PairedTest> tests;  // "<protocol>/<column>" -> test
  int64_t paired = 0;
};

std::string protocol_title(const std::string& protocol) {
  if (protocol == "candidates") return "paper protocol (target + 99 fixed candidates)";
  if (protocol == "full") return "full-catalogue ranking";
  return protocol;
}

std::string format_p(double p) { return p < 1e-4 ? "<0.0001" : fmt::format("{:.4f}", p); }

// "<protocol>/<column>" -> 95% interval of the column's mean.
using Intervals = std::map<std::string, std::pair<double, double>>;

// Percentile bootstrap over a run's cases (seeded, so a report is reproducible): bounded metrics
// such as hit rates near 0 get intervals inside [0, 1], which a normal approximation would not.
Intervals case_intervals(const std::vector<eval::CaseRecord>& cases, int64_t resamples,
                         uint64_t seed) {
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> ranks;  // (protocol, task)
  for (const eval::CaseRecord& c : cases)
    if (!c.protocol.empty()) ranks[{c.protocol, c.task}].push_back(c.rank);
  const std::vector<std::string>& names = eval::metric_names();
  Intervals out;
  std::mt19937_64 rng(seed);
  for (const auto& [group, r] : ranks) {
    const size_t n = r.size(), m = names.size();
    std::vector<double> value(n * m);  // per case and metric
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < m; ++k) value[i * m + k] = eval::metric_value(names[k], r[i]);
    std::vector<std::vector<double>> means(m, std::vector<double>(resamples));
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<double> sum(m);
    for (int64_t b = 0; b < resamples; ++b) {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (size_t i = 0; i < n; ++i) {
        const double* row = &value[pick(rng) * m];
        for (size_t k = 0; k < m; ++k) sum[k] += row[k];
      }
      for (size_t k = 0; k < m; ++k) means[k][b] = sum[k] / n;
    }
    for (size_t k = 0; k < m; ++k) {
      std::vector<double>& v = means[k];
      std::sort(v.begin(), v.end());
      const auto at = [&](double q) {
        return v[std::min<size_t>(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
      };
      out[group.first + "/" + group.second + "." + names[k]] = {at(0.025), at(0.975)};
    }
  }
  return out;
}

// Without per-case results a hit rate still has an interval from its case count ("rec.count",
// written by gensar eval): Wilson's score interval. Other metrics get none.
std::optional<std::pair<double, double>> count_interval(const eval::EvaluatedRun& s, const std::string& protocol,
                                                        const std::string& col) {
  const std::string task = col.substr(0, col.find('.'));
  if (col.find(".hr@") == std::string::npos) return std::nullopt;
  auto v = value_of(s, protocol, col);
  auto n = value_of(s, protocol, task + ".count");
  if (!v || !n || *n < 1) return std::nullopt;
  const double z = 1.959964, p = *v, N = *n;
  const double centre = (p + z * z / (2 * N)) / (1 + z * z / N);
  const double half = z * std::sqrt(p * (1 - p) / N + z * z / (4 * N * N)) / (1 + z * z / N);
  return std::make_pair(std::max(0.0, centre - half), std::min(1.0, centre + half));
}

// RUN/metrics.jsonl as the trainer writes it: step lines (consumed_samples, loss, task_loss) and
// validation lines (validation{}, score), placed at the samples seen at their step.
json read_training_curves(const fs::path& path, const std::string& label) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "gensar report: cannot open {}", path.string());
  json train = json::array(), validation = json::array();
  std::map<int64_t, double> samples_at;  // step -> consumed samples
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      throw InputError(fmt::format("gensar report: {}:{}: {}", path.string(), line_no, e.what()));
    }
    GENSAR_INPUT_CHECK(j.is_object() && j.contains("step") && j["step"].is_number_integer(),
                       "gensar report: {}:{}: field 'step' missing or not an integer", path.string(),
                       line_no);
    const int64_t step = j["step"].get<int64_t>();
    if (j.contains("validation")) {
      // Newer runs write the samples seen on the validation line too; older ones only on the step.
      auto it = samples_at.find(step);
      const double samples = j.contains("consumed_samples") && j["consumed_samples"].is_number()
                                 ? j["consumed_samples"].get<double>()
                                 : it == samples_at.end() ? 0.0 : it->second;
      validation.push_back({{"step", step},
                            {"samples", samples},
                            {"score", j.value("score", 0.0)},
                            {"metrics", j["validation"]}});
    } else if (j.contains("consumed_samples")) {
      GENSAR_INPUT_CHECK(j["consumed_samples"].is_number() && j.contains("loss") && j["loss"].is_number(),
                         "gensar report: {}:{}: step line needs numbers 'consumed_samples' and 'loss'",
                         path.string(), line_no);
      samples_at[step] = j["consumed_samples"].get<double>();
      train.push_back({{"step", step}, {"samples", samples_at[step]}, {"loss", j["loss"]},
                       {"task_loss", j.value("task_loss", json::object())}});
    }
  }
  return {{"system", label}, {"file", path.string()}, {"train", train}, {"validation", validation}};
}

// --reference, else a variant named gensar-full, else the first own model ("" if none).
std::string reference_label(const std::vector<eval::EvaluatedRun>& systems, const std::string& requested) {
  if (!requested.empty()) return requested;
  for (const eval::EvaluatedRun& s : systems)
    if (s.label == "gensar-full") return s.label;
  for (const eval::EvaluatedRun& s : systems)
    if (!s.baseline) return s.label;
  return "";
}

// Paired tests of every run with per-case results against the reference, by label.
std::map<std::string, Significance> significance_against(const eval::EvaluatedRun& ref, const std::vector<eval::EvaluatedRun>& systems,
                                                         int64_t resamples, uint64_t seed) {
  std::map<std::string, Significance> significance;
  if (ref.cases.empty()) return significance;
  const auto ref_cases = eval::read_run_case_records(ref.cases);
  for (const eval::EvaluatedRun& s : systems) {
    if (&s == &ref || s.cases.empty()) continue;
    const eval::RunComparison cmp =
        eval::compare_runs(ref_cases, eval::read_run_case_records(s.cases), resamples, seed);
    if (cmp.paired == 0) continue;
    Significance& sig = significance[s.label];
    sig.paired = cmp.paired;
    for (const eval::PairedTest& t : cmp.tests) sig.tests[t.metric] = t;
  }
  return significance;
}

// Protocols in table order: candidates, full, then any other the metrics files hold.
std::vector<std::string> protocols_of(const std::vector<eval::EvaluatedRun>& systems) {
  std::vector<std::string> protocols;
  for (const std::string p : {"candidates", "full"})
    for (const eval::EvaluatedRun& s : systems)
      if (s.metrics.contains(p) && std::find(protocols.begin(), protocols.end(), p) == protocols.end())
        protocols.push_back(p);
  for (const eval::EvaluatedRun& s : systems)
    for (const auto& [p, v] : s.metrics.items())
      if (v.is_object() && std::find(protocols.begin(), protocols.end(), p) == protocols.end())
        protocols.push_back(p);
  return protocols;
}

}  // namespace

ReportOutput build_report(const ReportOptions& options) {
  const std::vector<std::string>& dirs = options.dirs;
  GENSAR_INPUT_CHECK(!dirs.empty(), "gensar report: give at least one DIR");
  const int64_t resamples = options.resamples;
  GENSAR_INPUT_CHECK(resamples >= 0, "gensar report: --resamples must be >= 0, got {}", resamples);
  const std::vector<eval::EvaluatedRun> systems = eval::find_runs(dirs);

  const std::string reference = reference_label(systems, options.reference);
  const eval::EvaluatedRun* ref = nullptr;
  for (const eval::EvaluatedRun& s : systems)
    if (s.label == reference) ref = &s;
  GENSAR_INPUT_CHECK(reference.empty() || ref != nullptr,
                     "gensar report --reference: no run named '{}'", reference);
  const std::map<std::string, Significance> significance =
      ref ? significance_against(*ref, systems, resamples, options.seed) : std::map<std::string, Significance>{};
  // 95% intervals of every system's own metrics, from its cases where it has them.
  std::map<std::string, Intervals> intervals;  // by label
  for (const eval::EvaluatedRun& s : systems)
    if (!s.cases.empty())
      intervals[s.label] = case_intervals(eval::read_run_case_records(s.cases),
                                          std::max<int64_t>(resamples, 1000), options.seed);
  auto interval_of = [&](const eval::EvaluatedRun& s, const std::string& protocol,
                         const std::string& col) -> std::optional<std::pair<double, double>> {
    auto it = intervals.find(s.label);
    if (it != intervals.end()) {
      auto found = it->second.find(protocol + "/" + col);
      if (found != it->second.end()) return found->second;
      return std::nullopt;
    }
    return count_interval(s, protocol, col);
  };
  auto find_test = [&](const std::string& label, const std::string& protocol,
                       const std::string& col) -> const eval::PairedTest* {
    auto it = significance.find(label);
    if (it == significance.end()) return nullptr;
    for (const std::string& key : {protocol + "/" + col, col}) {
      auto t = it->second.tests.find(key);
      if (t != it->second.tests.end()) return &t->second;
    }
    return nullptr;
  };
  auto p_of = [&](const eval::PairedTest& t) {
    return resamples > 0 ? t.randomisation_p_value : t.t_p_value;
  };

  const std::vector<std::string> protocols = protocols_of(systems);

  size_t label_width = 6;
  for (const eval::EvaluatedRun& s : systems) label_width = std::max(label_width, s.label.size());
  std::ostringstream text, md;
  json out = {{"reference", reference}, {"protocols", json::object()}};
  json html = {{"reference", reference},
               {"inputs", dirs},
               {"protocols", json::object()},
               {"protocol_order", protocols},
               {"test", resamples > 0 ? fmt::format("paired sign-flip randomisation test, {} resamples", resamples)
                                      : std::string("paired t-test")}};
  md << "# gensar report\n\nRuns: " << fmt::format("{}", fmt::join(dirs, ", "))
     << (reference.empty() ? "" : fmt::format(". Reference: {}", reference)) << ".\n";

  for (const std::string& protocol : protocols) {
    std::vector<std::string> cols;
    for (const std::string& c : all_columns())
      for (const eval::EvaluatedRun& s : systems)
        if (value_of(s, protocol, c) && std::find(cols.begin(), cols.end(), c) == cols.end())
          cols.push_back(c);
    std::vector<const eval::EvaluatedRun*> rows;
    for (const eval::EvaluatedRun& s : systems)
      if (s.metrics.contains(protocol)) rows.push_back(&s);
    std::map<std::string, double> best;
    for (const std::string& c : cols)
      for (const eval::EvaluatedRun* s : rows)
        if (auto v = value_of(*s, protocol, c); v && (!best.count(c) || *v > best[c])) best[c] = *v;
    auto is_best = [&](const std::string& c, double v) { return best.count(c) && v == best[c]; };

    // Text table: '*' marks the best per column.
    text << "\n" << protocol_title(protocol) << "\n" << fmt::format("{:<{}}", "system", label_width);
    for (const std::string& c : cols) text << fmt::format("{:>15}", c);
    text << "\n";
    md << "\n## " << protocol_title(protocol) << "\n\n| system |";
    for (const std::string& c : cols) md << " " << c << " |";
    md << "\n|---|";
    for (size_t i = 0; i < cols.size(); ++i) md << "---:|";
    md << "\n";
    json jrows = json::array();
    for (const eval::EvaluatedRun* s : rows) {
      text << fmt::format("{:<{}}", s->label, label_width);
      md << "| " << s->label << " |";
      json jr = {{"system", s->label},
                 {"baseline", s->baseline},
                 {"metrics_file", s->metrics_file.string()},
                 {"metrics", json::object()},
                 {"best", json::array()}};
      if (!s->cases.empty()) jr["cases"] = s->cases;
      for (const std::string& c : cols) {
        auto v = value_of(*s, protocol, c);
        if (!v) {
          text << fmt::format("{:>15}", "-");
          md << " - |";
          continue;
        }
        const bool b = is_best(c, *v);
        text << fmt::format("{:>15}", fmt::format("{:.4f}{}", *v, b ? "*" : " "));
        md << (b ? fmt::format(" **{:.4f}** |", *v) : fmt::format(" {:.4f} |", *v));
        jr["metrics"][c] = *v;
        if (b) jr["best"].push_back(c);
        if (auto ci = interval_of(*s, protocol, c)) jr["ci"][c] = {ci->first, ci->second};
        if (const auto* t = find_test(s->label, protocol, c)) {
          jr["significance"][c] = {{"p_value", p_of(*t)},
                                   {"t_p_value", t->t_p_value},
                                   {"randomisation_p_value", t->randomisation_p_value},
                                   {"mean_diff", t->mean_diff},
                                   {"ci_low", t->ci_low},
                                   {"ci_high", t->ci_high},
                                   {"n", t->n}};
        }
      }
      text << "\n";
      md << "\n";
      jrows.push_back(jr);
    }
    out["protocols"][protocol] = {{"columns", cols}, {"rows", jrows}};
    html["protocols"][protocol] = {{"title", protocol_title(protocol)}, {"columns", cols}, {"rows", jrows}};

    // Paired significance against the reference, where both have per-case results.
    std::vector<const eval::EvaluatedRun*> tested;
    for (const eval::EvaluatedRun* s : rows)
      if (significance.count(s->label)) tested.push_back(s);
    if (tested.empty()) continue;
    const std::string test_name =
        resamples > 0 ? "paired sign-flip randomisation test" : "paired t-test";
    text << fmt::format("p-values against {} ({}, two-sided)\n", reference, test_name);
    md << fmt::format("\np-values against {} ({}, two-sided; difference = run - {}):\n\n| system | cases |",
                      reference, test_name, reference);
    for (const std::string& c : cols) md << " " << c << " |";
    md << "\n|---|---:|";
    for (size_t i = 0; i < cols.size(); ++i) md << "---:|";
    md << "\n";
    for (const eval::EvaluatedRun* s : tested) {
      text << fmt::format("{:<{}}", s->label, label_width);
      md << "| " << s->label << " | " << significance.at(s->label).paired << " |";
      for (const std::string& c : cols) {
        const auto* t = find_test(s->label, protocol, c);
        const std::string cell = t ? format_p(p_of(*t)) : "-";
        text << fmt::format("{:>15}", cell);
        md << " " << cell << " |";
      }
      text << "\n";
      md << "\n";
    }
  }

  if (protocols.empty()) text << "no metrics found\n";

  // Curves and identifier reports of the own models' workdirs (a sweep's variants may share one
  // identifiers file through links: listed once, with every variant that uses it).
  html["curves"] = json::array();
  std::vector<std::pair<std::string, std::vector<std::string>>> id_files;  // canonical -> labels
  std::map<std::string, fs::path> id_paths;
  for (const eval::EvaluatedRun& s : systems) {
    if (s.workdir.empty()) continue;
    const fs::path curve = s.workdir / "run" / "metrics.jsonl";
    if (fs::is_regular_file(curve)) html["curves"].push_back(read_training_curves(curve, s.label));
    const fs::path ids = s.workdir / "identifiers.report.json";
    if (!fs::is_regular_file(ids)) continue;
    const std::string canonical = fs::weakly_canonical(ids).string();
    auto it = std::find_if(id_files.begin(), id_files.end(),
                           [&](const auto& e) { return e.first == canonical; });
    if (it == id_files.end()) {
      id_files.push_back({canonical, {s.label}});
      id_paths[canonical] = ids;
    } else {
      it->second.push_back(s.label);
    }
  }
  html["identifiers"] = json::array();
  for (const auto& [canonical, labels] : id_files)
    html["identifiers"].push_back(
        {{"systems", labels}, {"file", id_paths[canonical].string()}, {"report", eval::read_json_object(id_paths[canonical])}});

  ReportOutput result;
  result.text = text.str();
  result.markdown = md.str();
  result.json = std::move(out);
  result.html = render_report_html(html);
  return result;
}

}  // namespace gensar::launch
