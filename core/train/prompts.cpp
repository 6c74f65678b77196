#include "core/train/prompts.h"

#include <fstream>

#include "core/common/check.h"
#include "core/common/ini.h"

namespace gensar::train {
namespace {

const char* kTaskNames[kNumTasks] = {"rec", "search", "next_query", "query_item", "text_to_id",
                                     "id_to_text"};
const char* kSlotNames[kNumSlots] = {"history", "query", "text", "id"};

PromptTemplate parse_template(const std::string& line, const std::string& path, int line_no) {
  PromptTemplate tmpl;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t open = line.find('{', pos);
    if (open == std::string::npos) {
      tmpl.push_back({false, Slot::kHistory, line.substr(pos), {}});
      break;
    }
    if (open > pos) tmpl.push_back({false, Slot::kHistory, line.substr(pos, open - pos), {}});
    size_t close = line.find('}', open);
    GENSAR_INPUT_CHECK(close != std::string::npos, "{}:{}: unclosed '{{' in template", path, line_no);
    std::string name = line.substr(open + 1, close - open - 1);
    int slot = -1;
    for (int s = 0; s < kNumSlots; ++s)
      if (name == kSlotNames[s]) slot = s;
    GENSAR_INPUT_CHECK(slot >= 0, "{}:{}: unknown slot '{{{}}}' (history, query, text, id)", path,
                       line_no, name);
    tmpl.push_back({true, static_cast<Slot>(slot), "", {}});
    pos = close + 1;
  }
  return tmpl;
}

}  // namespace

const char* task_name(Task task) { return kTaskNames[static_cast<int>(task)]; }

bool parse_task(const std::string& name, Task* out) {
  for (int t = 0; t < kNumTasks; ++t) {
    if (name == kTaskNames[t]) {
      *out = static_cast<Task>(t);
      return true;
    }
  }
  return false;
}

PromptSet PromptSet::load(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open prompt file '{}'", path);
  PromptSet set;
  // Templates may start with ';' and with '[' (a literal bracket), so only '#' comments and only
  // closed "[task]" headers.
  IniGrammar grammar;
  grammar.comment_starts = "#";
  grammar.strict_headers = false;
  auto on_header = [&](const IniLine& header) {
    Task t;
    GENSAR_INPUT_CHECK(header.section == "neutral" || parse_task(header.section, &t),
                       "{}:{}: unknown task section [{}]", path, header.number, header.section);
  };
  auto on_template = [&](const IniLine& line) {
    GENSAR_INPUT_CHECK(!line.section.empty(), "{}:{}: template before any [task] section", path, line.number);
    PromptTemplate tmpl = parse_template(line.text, path, line.number);
    if (line.section == "neutral") {
      GENSAR_INPUT_CHECK(set.neutral_.empty(), "{}:{}: [neutral] holds exactly one template", path,
                         line.number);
      set.neutral_ = std::move(tmpl);
    } else {
      Task t;
      parse_task(line.section, &t);
      set.templates_[static_cast<int>(t)].push_back(std::move(tmpl));
    }
  };
  read_ini_lines(in, path, grammar, on_header, on_template);
  for (int t = 0; t < kNumTasks; ++t) {
    GENSAR_INPUT_CHECK(!set.templates_[t].empty(), "{}: no templates for task [{}]", path,
                       kTaskNames[t]);
  }
  return set;
}

void PromptSet::compile(const Tokenizer& tokenizer) {
  auto compile_one = [&](PromptTemplate& tmpl) {
    for (PromptSegment& seg : tmpl)
      if (!seg.is_slot) seg.ids = tokenizer.encode(seg.text);
  };
  for (auto& list : templates_)
    for (auto& tmpl : list) compile_one(tmpl);
  compile_one(neutral_);
}

const PromptTemplate& PromptSet::get(Task task, int index) const {
  const auto& list = templates_[static_cast<int>(task)];
  GENSAR_CHECK(index >= 0 && index < static_cast<int>(list.size()),
               "template {} of task {} out of range ({} templates)", index, task_name(task),
               list.size());
  return list[index];
}

std::vector<int64_t> PromptSet::render(
    const PromptTemplate& tmpl, const std::array<const std::vector<int64_t>*, kNumSlots>& slots) {
  std::vector<int64_t> out;
  for (const PromptSegment& seg : tmpl) {
    if (!seg.is_slot) {
      out.insert(out.end(), seg.ids.begin(), seg.ids.end());
    } else if (const auto* content = slots[static_cast<int>(seg.slot)]) {
      out.insert(out.end(), content->begin(), content->end());
    }
  }
  return out;
}

}  // namespace gensar::train
