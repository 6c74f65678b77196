#include "launch/report_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

using nlohmann::json;

namespace gensar::launch {
namespace {

// Colour-blind-safe palette (Okabe-Ito, then darker tones): neighbouring series stay apart.
const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                          "#56B4E9", "#7F3C8D", "#3B6E2A", "#A3472B", "#555555"};
const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Axis labels short enough for a tick: 12k, 1.5M, 0.25.
std::string tick_label(double v) {
  const double a = std::fabs(v);
  if (a >= 1e6) return fmt::format("{:g}M", std::round(v / 1e5) / 10);
  if (a >= 1e4) return fmt::format("{:g}k", std::round(v / 1e2) / 10);
  if (a == 0) return "0";
  return fmt::format("{:.3g}", v);
}

// About `target` round-valued ticks covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step)
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

// The top of an axis: the next round value above `max`.
double nice_top(double max) {
  if (!(max > 0)) return 1;
  const std::vector<double> t = nice_ticks(0, max);
  return t.back() < max ? t.back() + (t.size() > 1 ? t[1] - t[0] : max) : t.back();
}

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
  std::string colour;
  double width = 1.6;
  bool markers = false;
  bool dashed = false;
};

std::string line_chart(const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series) {
  const double W = 610, H = 300, L = 62, R = 160, T = 34, B = 46;
  double xmax = 0, ymax = 0;
  size_t points = 0;
  for (const Series& s : series)
    for (const auto& [x, y] : s.points) {
      xmax = std::max(xmax, x);
      if (std::isfinite(y)) ymax = std::max(ymax, y);
      ++points;
    }
  std::ostringstream o;
  o << fmt::format(R"(<svg class="chart" viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img" aria-label="{2}">)",
                   W, H, esc(title))
    << fmt::format(R"(<text class="ctitle" x="{}" y="20">{}</text>)", L, esc(title));
  if (points == 0) {
    o << fmt::format(R"(<text class="empty" x="{}" y="{}">no data</text></svg>)", W / 2 - 30, H / 2);
    return o.str();
  }
  xmax = nice_top(xmax);
  ymax = nice_top(ymax);
  const double pw = W - L - R, ph = H - T - B;
  auto px = [&](double x) { return L + pw * x / xmax; };
  auto py = [&](double y) { return T + ph * (1 - y / ymax); };
  for (double t : nice_ticks(0, ymax)) {
    o << fmt::format(R"(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)", L, py(t),
                     L + pw, py(t))
      << fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)", L - 6,
                     py(t) + 4, tick_label(t));
  }
  for (double t : nice_ticks(0, xmax))
    o << fmt::format(R"(<line class="axis" x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}"/>)", px(t),
                     T + ph, T + ph + 4)
      << fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", px(t),
                     T + ph + 17, tick_label(t));
  o << fmt::format(R"(<line class="axis" x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>)", L, T + ph, L + pw)
    << fmt::format(R"(<line class="axis" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", L, T, T + ph)
    << fmt::format(R"(<text class="alabel" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)",
                   L + pw / 2, H - 8, esc(x_label))
    << fmt::format(R"svg(<text class="alabel" transform="translate(14,{:.1f}) rotate(-90)" text-anchor="middle">{}</text>)svg",
                   T + ph / 2, esc(y_label));
  size_t legend = 0;
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    // Thousands of steps draw no better than ~2 points per pixel.
    const size_t stride = std::max<size_t>(1, s.points.size() / static_cast<size_t>(2 * pw));
    std::string pts;
    for (size_t i = 0; i < s.points.size(); i += stride) {
      const auto& [x, y] = s.points[i];
      if (std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    }
    if (s.points.size() > 1 && (s.points.size() - 1) % stride != 0)
      pts += fmt::format("{:.1f},{:.1f}", px(s.points.back().first), py(s.points.back().second));
    o << fmt::format(R"(<polyline class="series" fill="none" stroke="{}" stroke-width="{}"{} points="{}"><title>{}</title></polyline>)",
                     s.colour, s.width, s.dashed ? R"( stroke-dasharray="5 3")" : "", pts, esc(s.name));
    if (s.markers)
      for (const auto& [x, y] : s.points)
        o << fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"><title>{}: {:.4f} at {}</title></circle>)",
                         px(x), py(y), s.colour, esc(s.name), y, tick_label(x));
    const double ly = T + 8 + 17 * legend++;
    o << fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="{3}" stroke-width="3"{4}/>)",
                     W - R + 14, ly, W - R + 34, s.colour, s.dashed ? R"( stroke-dasharray="5 3")" : "")
      << fmt::format(R"(<text class="legend" x="{}" y="{:.1f}">{}</text>)", W - R + 40, ly + 4,
                     esc(s.name.size() > 20 ? s.name.substr(0, 19) + "…" : s.name));
  }
  o << "</svg>";
  return o.str();
}

struct Bar {
  std::string label;
  double value = 0;
  double lo = NAN, hi = NAN;  // 95% interval, NaN when unknown
  std::string colour;
  std::string note;  // tooltip
};

// Horizontal bars (labels of ablations are long), value printed at the end, interval as whiskers.
std::string bar_chart(const std::string& title, const std::vector<Bar>& bars, double xmax = -1,
                      const std::string& format = "{:.4f}") {
  const double W = 380, L = 132, R = 58, T = 30, row = 22;
  const double H = T + row * bars.size() + 10;
  if (xmax <= 0) {
    xmax = 0;
    for (const Bar& b : bars) xmax = std::max({xmax, b.value, std::isnan(b.hi) ? 0.0 : b.hi});
    xmax = nice_top(xmax);
  }
  const double pw = W - L - R;
  auto px = [&](double x) { return L + pw * std::clamp(x / xmax, 0.0, 1.0); };
  std::ostringstream o;
  o << fmt::format(R"(<svg class="chart bars" viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img" aria-label="{2}">)",
                   W, H, esc(title))
    << fmt::format(R"(<text class="ctitle" x="8" y="18">{}</text>)", esc(title))
    << fmt::format(R"(<line class="axis" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", L, T - 4, H - 8);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = T + row * i;
    const std::string label = b.label.size() > 19 ? b.label.substr(0, 18) + "…" : b.label;
    o << "<g><title>" << esc(b.label) << ": " << fmt::format(fmt::runtime(format), b.value)
      << (std::isnan(b.lo) ? "" : fmt::format(" (95% CI {:.4f} to {:.4f})", b.lo, b.hi))
      << (b.note.empty() ? "" : "; " + esc(b.note)) << "</title>"
      << fmt::format(R"(<text class="blabel" x="{}" y="{:.1f}" text-anchor="end">{}</text>)", L - 6,
                     y + 14, esc(label))
      << fmt::format(R"(<rect x="{}" y="{:.1f}" width="{:.1f}" height="{}" fill="{}"/>)", L, y + 3,
                     std::max(0.0, px(b.value) - L), row - 6, b.colour);
    if (!std::isnan(b.lo))
      o << fmt::format(R"(<path class="ci" d="M{0:.1f} {2:.1f}V{3:.1f}M{0:.1f} {4:.1f}H{1:.1f}M{1:.1f} {2:.1f}V{3:.1f}"/>)",
                       px(b.lo), px(b.hi), y + 6, y + row - 6, y + row / 2);
    const double text_x = std::max(px(b.value), std::isnan(b.hi) ? 0.0 : px(b.hi)) + 4;
    o << fmt::format(R"(<text class="bvalue" x="{:.1f}" y="{:.1f}">{}</text></g>)", text_x, y + 14,
                     fmt::format(fmt::runtime(format), b.value));
  }
  o << "</svg>";
  return o.str();
}

double number(const json& j, const char* key, double fallback = NAN) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string pct(double v) { return std::isnan(v) ? "-" : fmt::format("{:.2f}%", 100 * v); }

void curves_section(const json& doc, std::ostringstream& o) {
  const json curves = doc.value("curves", json::array());
  o << "<section><h2>Training</h2>";
  if (curves.empty()) {
    o << "<p class=\"note\">No training metrics (RUN/metrics.jsonl) found beside these runs.</p></section>";
    return;
  }
  o << "<p class=\"note\">Per task: the training loss (token cross-entropy; the bold line is all "
       "tasks together) and the validation metrics, against the samples seen so far (the run's "
       "<code>consumed_samples</code>). From each run's <code>run/metrics.jsonl</code>.</p>";
  // Several runs: all of them in one pair of charts first, so curves compare at a glance.
  if (curves.size() > 1) {
    std::vector<Series> loss, score;
    for (size_t i = 0; i < curves.size(); ++i) {
      const json& c = curves[i];
      Series l{c.value("system", "?"), {}, colour(i)}, s{c.value("system", "?"), {}, colour(i)};
      s.markers = true;
      for (const json& p : c["train"]) l.points.emplace_back(number(p, "samples"), number(p, "loss"));
      for (const json& p : c["validation"])
        s.points.emplace_back(number(p, "samples"), number(p, "score"));
      loss.push_back(std::move(l));
      score.push_back(std::move(s));
    }
    o << "<h3>All runs</h3><div class=\"grid\">"
      << line_chart("training loss, all tasks", "samples seen", "loss", loss)
      << line_chart("validation score (mean NDCG@5 of rec and search)", "samples seen", "score", score)
      << "</div>";
  }
  for (const json& c : curves) {
    o << "<h3>" << esc(c.value("system", "?")) << "</h3><p class=\"file\">" << esc(c.value("file", ""))
      << "</p><div class=\"grid\">";
    std::vector<Series> loss;
    Series total{"all tasks", {}, "#222222", 2.6};
    std::map<std::string, Series> per_task;
    for (const json& p : c["train"]) {
      const double x = number(p, "samples");
      total.points.emplace_back(x, number(p, "loss"));
      const json task_loss = p.value("task_loss", json::object());
      for (const auto& [task, v] : task_loss.items())
        if (v.is_number()) per_task[task].points.emplace_back(x, v.get<double>());
    }
    loss.push_back(total);
    size_t k = 0;
    for (auto& [task, s] : per_task) {
      s.name = task;
      s.colour = colour(k++);
      s.width = 1.3;
      loss.push_back(std::move(s));
    }
    // Validation: the NDCG@5 and HR@10 of each task, the two numbers model selection looks at.
    std::map<std::string, Series> valid;
    for (const json& p : c["validation"]) {
      const double x = number(p, "samples");
      const json metrics = p.value("metrics", json::object());
      for (const auto& [name, v] : metrics.items()) {
        if (!v.is_number()) continue;
        const bool wanted = name.size() > 6 && (name.substr(name.size() - 6) == "ndcg@5" ||
                                                name.substr(name.size() - 5) == "hr@10");
        if (wanted) valid[name].points.emplace_back(x, v.get<double>());
      }
    }
    std::vector<Series> vs;
    k = 0;
    std::map<std::string, std::string> task_colour;
    for (auto& [name, s] : valid) {
      const std::string task = name.substr(0, name.find('.'));
      if (!task_colour.count(task)) task_colour[task] = colour(k++);
      s.name = name;
      s.colour = task_colour[task];
      s.markers = true;
      s.dashed = name.find("hr@") != std::string::npos;
      vs.push_back(std::move(s));
    }
    o << line_chart("training loss per task", "samples seen", "loss", loss)
      << line_chart("validation per task", "samples seen", "metric", vs) << "</div>";
  }
  o << "</section>";
}

// One table: a row per system that has any of `cols`, each cell value + interval + mark.
void metrics_table(const std::string& task, const std::vector<std::string>& cols, const json& rows,
                   const std::string& reference, std::ostringstream& o) {
  o << "<div class=\"scroll\"><table class=\"metrics\"><thead><tr><th class=\"task\">" << esc(task)
    << "</th>";
  for (const std::string& c : cols) o << "<th>" << esc(c.substr(c.find('.') + 1)) << "</th>";
  o << "</tr></thead><tbody>";
  for (const json& r : rows) {
    const json metrics = r.value("metrics", json::object());
    if (std::none_of(cols.begin(), cols.end(), [&](const std::string& c) { return metrics.contains(c); }))
      continue;
    const std::string label = r.value("system", "?");
    const bool is_ref = label == reference;
    o << "<tr" << (r.value("baseline", false) ? " class=\"baseline\"" : "") << "><th>" << esc(label)
      << (is_ref ? " <span class=\"tag\">reference</span>" : "")
      << (r.value("baseline", false) ? " <span class=\"tag\">baseline</span>" : "") << "</th>";
    const json best = r.value("best", json::array());
    for (const std::string& c : cols) {
      if (!metrics.contains(c)) {
        o << "<td class=\"na\">-</td>";
        continue;
      }
      const bool is_best = std::find(best.begin(), best.end(), c) != best.end();
      std::string mark, cls, tip;
      if (r.contains("significance") && r["significance"].contains(c)) {
        const json& t = r["significance"][c];
        const double pv = number(t, "p_value", 1), diff = number(t, "mean_diff", 0);
        tip = fmt::format("p = {:.4f}; difference {:+.4f} (95% CI {:+.4f} to {:+.4f}) over {} paired cases",
                          pv, diff, number(t, "ci_low", 0), number(t, "ci_high", 0),
                          t.value("n", int64_t{0}));
        if (pv < 0.05 && diff != 0) {
          const char* arrow = diff > 0 ? "▲" : "▼";
          mark = pv < 0.01 ? std::string(arrow) + arrow : arrow;
          cls = diff > 0 ? "up" : "down";
        }
      }
      o << "<td" << (tip.empty() ? "" : " title=\"" + esc(tip) + "\"") << ">" << (is_best ? "<b>" : "")
        << fmt::format("{:.4f}", metrics[c].get<double>()) << (is_best ? "</b>" : "");
      if (!mark.empty()) o << "<span class=\"" << cls << "\">" << mark << "</span>";
      if (r.contains("ci") && r["ci"].contains(c))
        o << fmt::format("<br><span class=\"ci\">{:.3f}–{:.3f}</span>", r["ci"][c][0].get<double>(),
                         r["ci"][c][1].get<double>());
      o << "</td>";
    }
    o << "</tr>";
  }
  o << "</tbody></table></div>";
}

void metrics_section(const json& doc, std::ostringstream& o) {
  const std::string reference = doc.value("reference", "");
  const json protocols = doc.value("protocols", json::object());
  std::vector<std::string> order = doc.value("protocol_order", std::vector<std::string>{});
  for (const auto& [p, v] : protocols.items())
    if (std::find(order.begin(), order.end(), p) == order.end()) order.push_back(p);
  o << "<section><h2>Test metrics</h2>";
  if (order.empty()) o << "<p class=\"note\">No metrics files found.</p>";
  o << "<p class=\"note\">Each cell: the metric and, below it, its 95% confidence interval "
    << "(percentile bootstrap over the run's evaluation cases; binomial (Wilson) for hit rates when "
       "only counts are known). Bold: best in the column. Marks against the reference <b>"
    << esc(reference) << "</b> (" << esc(doc.value("test", "")) << ", two-sided): "
    << "<span class=\"up\">▲</span>/<span class=\"down\">▼</span> significantly better/worse "
       "at p &lt; 0.05, doubled at p &lt; 0.01; hover a cell for the p-value.</p>";
  for (const std::string& p : order) {
    const json& proto = protocols[p];
    const std::vector<std::string> cols = proto.value("columns", std::vector<std::string>{});
    const json rows = proto.value("rows", json::array());
    o << "<h3>" << esc(proto.value("title", p)) << "</h3>";
    // One table per task (rec, search): eight metric columns each fit a screen.
    std::vector<std::string> tasks;
    for (const std::string& c : cols) {
      const std::string task = c.substr(0, c.find('.'));
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    }
    for (const std::string& task : tasks) {
      std::vector<std::string> tcols;
      for (const std::string& c : cols)
        if (c.compare(0, task.size() + 1, task + ".") == 0) tcols.push_back(c);
      metrics_table(task, tcols, rows, reference, o);
    }

    // One bar chart per metric across systems.
    o << "<div class=\"grid small\">";
    for (const std::string& c : cols) {
      std::vector<Bar> bars;
      size_t own = 0;
      for (const json& r : rows) {
        const json metrics = r.value("metrics", json::object());
        if (!metrics.contains(c)) continue;
        Bar b;
        b.label = r.value("system", "?");
        b.value = metrics[c].get<double>();
        if (r.contains("ci") && r["ci"].contains(c)) {
          b.lo = r["ci"][c][0].get<double>();
          b.hi = r["ci"][c][1].get<double>();
        }
        b.colour = r.value("baseline", false) ? "#9a9a9a" : colour(own++);
        if (b.label == reference) b.note = "reference";
        bars.push_back(b);
      }
      o << bar_chart(c, bars);
    }
    o << "</div>";
  }
  o << "</section>";
}

void identifiers_section(const json& doc, std::ostringstream& o) {
  const json ids = doc.value("identifiers", json::array());
  o << "<section><h2>Identifiers</h2>";
  if (ids.empty()) {
    o << "<p class=\"note\">No identifier report (identifiers.report.json) found beside these runs.</p></section>";
    return;
  }
  o << "<p class=\"note\">From <code>gensar index</code>'s report (docs/identifiers.md): how many of "
       "each level's codes the items use and the perplexity of their distribution (equal use of all "
       "codes = the code count), and the share of items whose identifier collides with another "
       "item's before de-collision, after the Sinkhorn re-assignment and after the suffix level.</p>";
  for (const json& entry : ids) {
    const json& r = entry["report"];
    std::string systems;
    for (const json& s : entry.value("systems", json::array()))
      systems += (systems.empty() ? "" : ", ") + s.get<std::string>();
    o << "<h3>" << esc(systems) << "</h3><p class=\"file\">" << esc(entry.value("file", "")) << " — "
      << r.value("items", int64_t{0}) << " items, id mode " << esc(r.value("id_mode", "?"))
      << ", kept epoch " << r.value("best_epoch", int64_t{0}) << "</p>";
    o << "<div class=\"grid\"><div><table class=\"plain\"><thead><tr><th>level</th><th>codes</th>"
         "<th>used</th><th>usage</th><th>perplexity</th></tr></thead><tbody>";
    std::vector<Bar> used, perplexity;
    double max_codes = 0;
    for (const json& l : r.value("levels", json::array())) {
      const std::string name = l.value("level", "?");
      const double codes = number(l, "codes", 0), u = number(l, "used", 0), ppl = number(l, "perplexity", 0);
      max_codes = std::max(max_codes, codes);
      o << fmt::format("<tr><th>{}</th><td>{:g}</td><td>{:g}</td><td>{}</td><td>{:.1f}</td></tr>",
                       esc(name), codes, u, pct(number(l, "usage")), ppl);
      const char* c = name.rfind("s_", 0) == 0 ? "#7F3C8D" : name.rfind("sem", 0) == 0 ? "#0072B2" : "#D55E00";
      used.push_back({name, u, NAN, NAN, c, fmt::format("{:g} of {:g} codes", u, codes)});
      perplexity.push_back({name, ppl, NAN, NAN, c, fmt::format("{:g} codes", codes)});
    }
    o << "</tbody></table><p class=\"note\">purple: shared levels, blue: semantic, orange: "
         "collaborative.</p></div>"
      << bar_chart("codes used per level", used, nice_top(max_codes), "{:.0f}")
      << bar_chart("perplexity per level", perplexity, nice_top(max_codes), "{:.1f}") << "</div>";

    o << "<div class=\"grid\"><div><table class=\"plain\"><thead><tr><th>identifier</th><th>length</th>"
         "<th>collisions before</th><th>after Sinkhorn</th><th>after suffix</th><th>suffixed items</th>"
         "</tr></thead><tbody>";
    std::vector<Bar> coll;
    for (const char* kind : {"semantic", "collaborative"}) {
      if (!r.contains(kind)) continue;
      const json& k = r[kind];
      const double before = number(k, "collision_rate_before"),
                   sk = number(k, "collision_rate_after_sinkhorn"), after = number(k, "collision_rate_after");
      o << fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", kind,
                       k.value("length", int64_t{0}), pct(before), pct(sk), pct(after),
                       k.value("suffixed_items", int64_t{0}));
      const std::string c = std::string(kind) == "semantic" ? "#0072B2" : "#D55E00";
      const std::string shortname = std::string(kind) == "semantic" ? "sem" : "col";
      coll.push_back({shortname + " before", 100 * before, NAN, NAN, c, "collision rate, %"});
      coll.push_back({shortname + " Sinkhorn", 100 * sk, NAN, NAN, c, "collision rate, %"});
      coll.push_back({shortname + " after", 100 * after, NAN, NAN, c, "collision rate, %"});
    }
    o << "</tbody></table>";
    const json warnings = r.value("warnings", json::array());
    if (!warnings.empty()) {
      o << "<ul class=\"warn\">";
      for (const json& w : warnings) o << "<li>" << esc(w.is_string() ? w.get<std::string>() : w.dump()) << "</li>";
      o << "</ul>";
    }
    o << "</div>" << bar_chart("collisions, % of items", coll, -1, "{:.3f}");
    std::vector<Series> history(1);
    history[0].name = "collision rate";
    history[0].colour = "#7F3C8D";
    history[0].markers = true;
    for (const json& h : r.value("history", json::array()))
      history[0].points.emplace_back(number(h, "epoch", 0), number(h, "collision", 0));
    if (!history[0].points.empty())
      o << line_chart("RQ-VAE training: collision rate at checks", "epoch", "rate", history);
    o << "</div>";
  }
  o << "</section>";
}

const char* kStyle = R"(
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1d;
 background:#fafafa;margin:0;padding:24px 32px;max-width:1400px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:21px;margin:30px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:17px;margin:20px 0 4px}.note{color:#444;max-width:1000px}.file{color:#666;font-size:12px;margin:0 0 6px;
 font-family:ui-monospace,"DejaVu Sans Mono",monospace}code{font-size:13px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px 20px 18px;margin:18px 0}
.grid{display:flex;flex-wrap:wrap;gap:14px 22px;align-items:flex-start}
.chart{background:#fff}.ctitle{font-size:14px;font-weight:600;fill:#222}.tick{font-size:11px;fill:#555}
.alabel{font-size:12px;fill:#333}.legend{font-size:12px;fill:#222}.grid line.grid,line.grid{stroke:#e6e6e6}
line.axis{stroke:#888}.blabel{font-size:12px;fill:#222}.bvalue{font-size:11px;fill:#333}
path.ci{stroke:#111;stroke-width:1.2;fill:none}.empty{fill:#999;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{padding:4px 9px;border-bottom:1px solid #e6e6e6;text-align:right;
 white-space:nowrap}thead th{background:#f1f1f1;border-bottom:2px solid #ccc}th.task{text-align:left;min-width:150px}tbody th{text-align:left}
table.metrics td{font-variant-numeric:tabular-nums}tr.baseline th{color:#555;font-weight:normal}
span.ci{color:#777;font-size:11px}.up{color:#067d3f;margin-left:2px}.down{color:#b3261e;margin-left:2px}
.tag{font-size:10px;background:#eee;border-radius:3px;padding:1px 4px;color:#444;font-weight:normal}
.scroll{overflow-x:auto}.na{color:#aaa}ul.warn{color:#8a4b00;font-size:13px}
)";

}  // namespace

std::string render_report_html(const json& doc) {
  std::ostringstream o;
  std::string inputs;
  for (const json& i : doc.value("inputs", json::array()))
    inputs += (inputs.empty() ? "" : ", ") + i.get<std::string>();
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>gensar report: " << esc(inputs) << "</title><style>" << kStyle << "</style></head><body>"
    << "<h1>gensar report</h1><p class=\"file\">" << esc(inputs) << "</p>";
  metrics_section(doc, o);
  curves_section(doc, o);
  identifiers_section(doc, o);
  o << "<p class=\"note\">Written by <code>gensar report --html</code>; the page is self-contained "
       "(no scripts, nothing loaded from the network).</p></body></html>\n";
  return o.str();
}

}  // namespace gensar::launch
