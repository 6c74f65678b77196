#include "data_pipeline/stats.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gensar::data {
namespace {

// Nearest-rank percentiles of a length distribution.
nlohmann::ordered_json percentiles(std::vector<int64_t> v) {
  nlohmann::ordered_json j;
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
  };
  double sum = 0;
  for (auto x : v) sum += static_cast<double>(x);
  j["min"] = v.front();
  j["p50"] = at(50);
  j["p90"] = at(90);
  j["p99"] = at(99);
  j["max"] = v.back();
  j["mean"] = sum / static_cast<double>(v.size());
  return j;
}

}  // namespace

nlohmann::ordered_json dataset_stats(const Dataset& d) {
  nlohmann::ordered_json j;
  j["users"] = d.num_users();
  j["items"] = d.num_items();
  j["queries"] = d.num_queries();
  j["interactions"] = d.num_rec_events() + d.num_search_events();
  j["rec_events"] = d.num_rec_events();
  j["search_events"] = d.num_search_events();
  j["shards"] = d.num_shards();
  std::vector<int64_t> all, rec, search;
  int64_t both = 0;
  d.for_each_user([&](int32_t, std::string_view, const std::vector<Event>& events) {
    int64_t r = 0;
    for (const auto& e : events) r += e.kind == EventKind::kRec;
    all.push_back(static_cast<int64_t>(events.size()));
    rec.push_back(r);
    search.push_back(static_cast<int64_t>(events.size()) - r);
    both += r > 0 && r < static_cast<int64_t>(events.size());
  });
  j["users_with_both_kinds"] = both;
  int64_t with_pop = 0;
  for (auto p : d.item_popularity()) with_pop += p > 0;
  j["items_with_rec_clicks"] = with_pop;
  for (Task t : {Task::kRec, Task::kSearch}) {
    for (Split s : {Split::kTrain, Split::kValid, Split::kTest})
      j["splits"][task_name(t)][split_name(s)] = d.examples(t, s).size();
  }
  j["sequence_length"]["events"] = percentiles(std::move(all));
  j["sequence_length"]["rec"] = percentiles(std::move(rec));
  j["sequence_length"]["search"] = percentiles(std::move(search));
  return j;
}

std::string format_stats(const nlohmann::ordered_json& j) {
  std::string out;
  for (const char* k : {"users", "items", "queries", "interactions", "rec_events", "search_events",
                        "shards", "users_with_both_kinds", "items_with_rec_clicks"})
    out += fmt::format("{:<24}{}\n", k, j[k].get<int64_t>());
  for (const char* t : {"rec", "search"}) {
    const auto& s = j["splits"][t];
    out += fmt::format("{:<24}train {}  valid {}  test {}\n", fmt::format("{} examples", t),
                       s["train"].get<int64_t>(), s["valid"].get<int64_t>(), s["test"].get<int64_t>());
  }
  for (const char* k : {"events", "rec", "search"}) {
    const auto& p = j["sequence_length"][k];
    if (p.is_null()) continue;
    out += fmt::format("{:<24}min {}  p50 {}  p90 {}  p99 {}  max {}  mean {:.2f}\n",
                       fmt::format("length ({})", k), p["min"].get<int64_t>(), p["p50"].get<int64_t>(),
                       p["p90"].get<int64_t>(), p["p99"].get<int64_t>(), p["max"].get<int64_t>(),
                       p["mean"].get<double>());
  }
  return out;
}

}  // namespace gensar::data
