#include "launch/pipeline_stages.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "data_pipeline/checksum.h"

namespace fs = std::filesystem;

namespace gensar::launch {

const std::vector<PipelineStage>& pipeline_stages() {
  static const std::vector<PipelineStage> stages = {
      {"ingest", "ingest", {{"out", "{work}/dataset"}}, {}, "{work}/dataset/manifest.json"},
      {"embed-text", "embed-text",
       {{"dataset", "{work}/dataset"}, {"out", "{work}/text_embeddings.h5"}},
       {"ingest"}, "{work}/text_embeddings.h5"},
      {"embed-collab", "embed-collab",
       {{"dataset", "{work}/dataset"}, {"out", "{work}/collab_embeddings.h5"},
        {"model-out", "{work}/sasrec.pt"}},
       {"ingest"}, "{work}/collab_embeddings.h5"},
      {"index", "index",
       {{"text", "{work}/text_embeddings.h5"}, {"collab", "{work}/collab_embeddings.h5"},
        {"out", "{work}/identifiers.h5"}},
       {"embed-text", "embed-collab"}, "{work}/identifiers.h5"},
      {"train", "train",
       {{"dataset", "{work}/dataset"}, {"identifiers", "{work}/identifiers.h5"},
        {"out", "{work}/run"}},
       {"index"}, "{work}/run/checkpoints/latest"},
      {"eval", "eval",
       {{"run", "{work}/run"}, {"out", "{work}/metrics/gensar"}},
       {"train"}, "{work}/metrics/gensar/metrics.json"},
      {"baseline-popularity", "eval",
       {{"baseline", "popularity"}, {"dataset", "{work}/dataset"},
        {"out", "{work}/metrics/popularity"}},
       {"ingest"}, "{work}/metrics/popularity/metrics.json"},
      {"baseline-bm25", "eval",
       {{"baseline", "bm25"}, {"dataset", "{work}/dataset"}, {"out", "{work}/metrics/bm25"}},
       {"ingest"}, "{work}/metrics/bm25/metrics.json"},
      {"baseline-sasrec", "eval",
       {{"baseline", "sasrec"}, {"dataset", "{work}/dataset"},
        {"sasrec-model", "{work}/sasrec.pt"}, {"out", "{work}/metrics/sasrec"}},
       {"embed-collab"}, "{work}/metrics/sasrec/metrics.json"},
      {"baseline-transitions", "eval",
       {{"baseline", "transitions"}, {"dataset", "{work}/dataset"},
        {"out", "{work}/metrics/transitions"}},
       {"ingest"}, "{work}/metrics/transitions/metrics.json"},
      {"baseline-query-clicks", "eval",
       {{"baseline", "query-clicks"}, {"dataset", "{work}/dataset"},
        {"out", "{work}/metrics/query-clicks"}},
       {"ingest"}, "{work}/metrics/query-clicks/metrics.json"},
  };
  return stages;
}

std::string default_pipeline_stages() {
  std::string out;
  for (const auto& s : pipeline_stages()) out += (out.empty() ? "" : ",") + s.name;
  return out;
}

std::string expand_work(std::string value, const std::string& work) {
  static const std::string kWork = "{work}";
  for (size_t pos = 0; (pos = value.find(kWork, pos)) != std::string::npos; pos += work.size())
    value.replace(pos, kWork.size(), work);
  return value;
}

po::variables_map resolve_stage(const PipelineStage& stage, const std::string& config_path,
                                const std::string& work) {
  const Verb* verb = find_verb(stage.verb);
  GENSAR_INPUT_CHECK(verb != nullptr, "pipeline stage {} needs verb {}, which this build lacks",
                     stage.name, stage.verb);
  std::map<std::string, std::string> overrides;
  for (const auto& [key, value] : stage.overrides) overrides[key] = expand_work(value, work);
  return resolve_from_file(*verb, config_path, overrides);
}

std::string stage_stamp(const PipelineStage& stage, const std::string& config_path,
                        const std::string& work, const std::map<std::string, std::string>& upstream) {
  std::string basis = dump_config(*find_verb(stage.verb), resolve_stage(stage, config_path, work));
  for (const std::string& input : stage.inputs) {
    auto it = upstream.find(input);
    basis += "\n" + input + ":" + (it == upstream.end() ? "" : it->second);
  }
  return data::xxh64_hex(data::xxh64(basis));
}

int run_stage(const PipelineStage& stage, const std::string& config_path, const std::string& work,
              const std::string& stamp, bool force, dist::Communicator& world) {
  const fs::path stamps = fs::path(work) / ".stamps";
  const fs::path pending_path = stamps / (stage.name + ".pending");
  po::variables_map vm = resolve_stage(stage, config_path, work);
  bool resume = false;
  if (vm.count("resume") > 0) {
    std::ifstream in(pending_path);
    std::string pending((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    resume = !force && in.good() && pending == stamp;
    vm.erase("resume");
    vm.insert({"resume", po::variable_value(resume, false)});
  }
  world.barrier();
  if (world.rank() == 0) std::ofstream(pending_path) << stamp;
  GENSAR_INFO("pipeline", "{}: running gensar {}{}", stage.name, stage.verb,
              resume ? " (resuming the interrupted run)" : "");
  const int rc = find_verb(stage.verb)->run(vm);
  if (rc != 0) return rc;
  world.barrier();
  if (world.rank() == 0) {
    std::ofstream(stamps / stage.name) << stamp;
    std::error_code ec;
    fs::remove(pending_path, ec);
  }
  return 0;
}

namespace {

// metrics.json as gensar eval writes it: {"<protocol>": {"rec.hr@10": x, ...}, ...}
nlohmann::json read_metrics(const fs::path& path) {
  std::ifstream in(path);
  if (!in.good()) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

void print_pipeline_report(const std::string& workdir, std::ostream& out) {
  const std::vector<std::pair<std::string, std::string>> systems = {
      {"GenSAR", "gensar"}, {"Popularity", "popularity"}, {"BM25", "bm25"}, {"SASRec", "sasrec"},
      {"Transitions", "transitions"}, {"Query clicks", "query-clicks"}};
  const std::vector<std::string> columns = {"rec.hr@1",     "rec.hr@5",     "rec.hr@10",
                                            "rec.ndcg@5",   "rec.ndcg@10",  "search.hr@1",
                                            "search.hr@5",  "search.hr@10", "search.ndcg@5",
                                            "search.ndcg@10"};
  for (const std::string protocol : {"candidates", "full"}) {
    bool header = false;
    for (const auto& [label, file] : systems) {
      nlohmann::json m = read_metrics(fs::path(workdir) / "metrics" / file / "metrics.json");
      if (m.is_null() || !m.contains(protocol)) continue;
      if (!header) {
        out << "\n"
            << (std::string(protocol) == "candidates"
                    ? "Test metrics, paper protocol (target + 99 fixed candidates)"
                    : "Test metrics, full-catalogue ranking")
            << "\n"
            << fmt::format("{:<12}", "system");
        for (const auto& c : columns) out << fmt::format("{:>15}", c);
        out << "\n";
        header = true;
      }
      out << fmt::format("{:<12}", label);
      const auto& row = m[protocol];
      for (const auto& c : columns) {
        if (!row.contains(c) || !row[c].is_number()) {
          out << fmt::format("{:>15}", "-");
          continue;
        }
        const double value = row[c].get<double>();
        // Hit rates carry their 95% interval (normal approximation over the task's cases), so a
        // row can be read against chance and against the other rows.
        const std::string task = c.substr(0, c.find('.'));
        const auto count = row.find(task + ".count");
        if (c.find(".hr@") != std::string::npos && count != row.end() && count->is_number() &&
            count->get<double>() > 0) {
          const double n = count->get<double>();
          out << fmt::format("{:>15}", fmt::format("{:.3f}+-{:.3f}", value,
                                                   1.96 * std::sqrt(value * (1 - value) / n)));
        } else {
          out << fmt::format("{:>15.4f}", value);
        }
      }
      out << "\n";
    }
    if (header && std::string(protocol) == "candidates")
      out << "(chance: HR@k = k/100 with 100 candidates; +- is the 95% interval)\n";
  }
  out.flush();
}

}  // namespace gensar::launch
