#include "data_pipeline/readers/reader_factory.h"

#include <map>
#include <sstream>

#include "core/common/check.h"
#include "data_pipeline/readers/lcrec_reader.h"
#include "data_pipeline/readers/p5_reader.h"
#include "data_pipeline/readers/recbole_reader.h"
#include "data_pipeline/readers/synthetic_reader.h"
#include "data_pipeline/readers/tsv_reader.h"

namespace gensar::data {
namespace {

SyntheticOptions parse_synthetic(const std::string& spec) {
  SyntheticOptions o;
  std::stringstream ss(spec);
  std::string pair;
  while (std::getline(ss, pair, ',')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    GENSAR_INPUT_CHECK(eq != std::string::npos, "--input (synthetic): '{}' is not key=value", pair);
    std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    try {
      if (key == "users") o.users = std::stoll(value);
      else if (key == "items") o.items = std::stoll(value);
      else if (key == "topics") o.topics = std::stoi(value);
      else if (key == "clusters") o.clusters = std::stoi(value);
      else if (key == "events_per_user") o.events_per_user = std::stod(value);
      else if (key == "min_events") o.min_events = std::stoi(value);
      else if (key == "search_share") o.search_share = std::stod(value);
      else if (key == "zipf_exponent") o.zipf_exponent = std::stod(value);
      else if (key == "topics_per_user") o.topics_per_user = std::stoi(value);
      else if (key == "clusters_per_user") o.clusters_per_user = std::stoi(value);
      else if (key == "cluster_affinity") o.cluster_affinity = std::stod(value);
      else if (key == "popular_share") o.popular_share = std::stod(value);
      else if (key == "drift") o.drift = std::stod(value);
      else if (key == "seed") o.seed = std::stoull(value);
      else if (key == "start_time") o.start_time = std::stoll(value);
      else throw InputError(fmt::format("--input (synthetic): unknown key '{}'", key));
    } catch (const std::logic_error&) {
      throw InputError(fmt::format("--input (synthetic): '{}' is not a number for '{}'", value, key));
    }
  }
  return o;
}

}  // namespace

std::vector<std::string> available_formats() {
  std::vector<std::string> f = {"lcrec", "p5"};
  f.push_back("recbole");
  f.push_back("tsv");
  f.push_back("synthetic");
  return f;
}

std::unique_ptr<RawReader> make_reader(const ReaderSpec& spec) {
  if (spec.format == "lcrec") return make_lcrec_reader(spec.input);
  if (spec.format == "p5") return make_p5_reader(spec.input);
  if (spec.format == "recbole") {
    RecboleOptions o;
    o.prefix = spec.input;
    GENSAR_INPUT_CHECK(!o.prefix.empty(), "--input is required for --format recbole");
    return make_recbole_reader(o);
  }
  if (spec.format == "tsv") {
    TsvLogOptions o;
    o.events_path = spec.input;
    GENSAR_INPUT_CHECK(!o.events_path.empty(), "--input (the events TSV) is required for --format tsv");
    o.items_path = spec.items;
    if (o.items_path.empty()) {
      const std::string suffix = ".events.tsv";
      GENSAR_INPUT_CHECK(o.events_path.size() > suffix.size() &&
                             o.events_path.compare(o.events_path.size() - suffix.size(),
                                                   suffix.size(), suffix) == 0,
                         "--format tsv: give --items, or name the events file PREFIX.events.tsv");
      o.items_path = o.events_path.substr(0, o.events_path.size() - suffix.size()) + ".items.tsv";
    }
    return make_tsv_reader(o);
  }
  if (spec.format == "synthetic") return make_synthetic_reader(parse_synthetic(spec.input));
  std::string known;
  for (const auto& f : available_formats()) known += (known.empty() ? "" : ", ") + f;
  throw InputError(fmt::format("--format: '{}' is not one of {}", spec.format, known));
}

}  // namespace gensar::data
