#include "core/eval/case_records.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "core/common/check.h"
#include "core/eval/metrics.h"

namespace gensar::eval {

CaseRecord make_case_record(std::string case_id, std::string protocol, std::string task,
                            int64_t target, std::vector<int64_t> items,
                            std::vector<double> scores) {
  CaseRecord r;
  r.case_id = std::move(case_id);
  r.protocol = std::move(protocol);
  r.task = std::move(task);
  r.target = target;
  r.rank = target_rank(items, target);
  r.items = std::move(items);
  r.scores = std::move(scores);
  return r;
}

std::string case_record_to_json(const CaseRecord& record) {
  nlohmann::ordered_json j;
  j["case_id"] = record.case_id;
  if (!record.protocol.empty()) j["protocol"] = record.protocol;
  j["task"] = record.task;
  j["target"] = record.target;
  j["rank"] = record.rank;
  j["items"] = record.items;
  if (!record.scores.empty()) j["scores"] = record.scores;
  return j.dump();
}

void write_case_records(std::ostream& out, const std::vector<CaseRecord>& records) {
  for (const CaseRecord& r : records) out << case_record_to_json(r) << '\n';
}

void write_case_records(const std::string& path, const std::vector<CaseRecord>& records) {
  std::ofstream out(path);
  GENSAR_INPUT_CHECK(out.good(), "cannot write per-case results to {}", path);
  write_case_records(out, records);
  GENSAR_INPUT_CHECK(out.good(), "writing {} failed", path);
}

std::vector<CaseRecord> read_case_records(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open per-case results {}", path);
  std::vector<CaseRecord> records;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      GENSAR_INPUT_CHECK(false, "{}:{}: not JSON: {}", path, line_no, e.what());
    }
    auto need = [&](const char* field) -> const nlohmann::json& {
      GENSAR_INPUT_CHECK(j.contains(field), "{}:{}: missing field '{}'", path, line_no, field);
      return j[field];
    };
    CaseRecord r;
    try {
      const nlohmann::json& id = need("case_id");
      r.case_id = id.is_string() ? id.get<std::string>() : id.dump();
      r.protocol = j.value("protocol", std::string());
      r.task = need("task").get<std::string>();
      r.target = need("target").get<int64_t>();
      r.rank = need("rank").get<int64_t>();
      r.items = need("items").get<std::vector<int64_t>>();
      if (j.contains("scores")) r.scores = j["scores"].get<std::vector<double>>();
    } catch (const nlohmann::json::exception& e) {
      GENSAR_INPUT_CHECK(false, "{}:{}: bad field type: {}", path, line_no, e.what());
    }
    GENSAR_INPUT_CHECK(r.rank >= 0, "{}:{}: field 'rank' is negative", path, line_no);
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<CaseRecord> read_run_case_records(const std::string& path) {
  namespace fs = std::filesystem;
  GENSAR_INPUT_CHECK(fs::exists(path), "per-case results {} do not exist", path);
  if (!fs::is_directory(path)) return read_case_records(path);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl")
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  GENSAR_INPUT_CHECK(!files.empty(), "no per-case *.jsonl files in {}", path);
  std::vector<CaseRecord> all;
  for (const std::string& f : files) {
    std::vector<CaseRecord> part = read_case_records(f);
    all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return all;
}

}  // namespace gensar::eval
