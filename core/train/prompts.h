// Prompt templates per task, read from an editable text file (configs/prompts.txt), compiled once
// into token-id segments so that building a sample is concatenation, not re-tokenisation.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/train/tokenizer.h"

namespace gensar::train {

// The six training tasks of GenSAR (the GenSAR paper, section 3).
enum class Task : int {
  kRec = 0,        // next recommended item (NRIP)
  kSearch = 1,     // personalised search (NSIP)
  kNextQuery = 2,  // next query (NSQP)
  kQueryItem = 3,  // pseudo-query -> item (doc2query-style indexing)
  kTextToId = 4,   // item text -> identifier
  kIdToText = 5,   // identifier -> item text
};
constexpr int kNumTasks = 6;
const char* task_name(Task task);
bool parse_task(const std::string& name, Task* out);

enum class Slot : int { kHistory = 0, kQuery = 1, kText = 2, kId = 3 };
constexpr int kNumSlots = 4;

struct PromptSegment {
  bool is_slot = false;
  Slot slot = Slot::kHistory;
  std::string text;              // literal text (is_slot == false)
  std::vector<int64_t> ids;      // its tokens, filled by compile()
};
using PromptTemplate = std::vector<PromptSegment>;

class PromptSet {
 public:
  // Parses the file; errors name the file and line. Every task needs at least one template.
  static PromptSet load(const std::string& path);
  // Tokenises every literal once.
  void compile(const Tokenizer& tokenizer);

  int count(Task task) const { return static_cast<int>(templates_[static_cast<int>(task)].size()); }
  const PromptTemplate& get(Task task, int index) const;
  const PromptTemplate& neutral() const { return neutral_; }
  bool has_neutral() const { return !neutral_.empty(); }

  // Concatenates the template's tokens with the slot contents (slots absent from `slots` render
  // empty). The result has no eos; the caller appends it.
  static std::vector<int64_t> render(const PromptTemplate& tmpl,
                                     const std::array<const std::vector<int64_t>*, kNumSlots>& slots);

 private:
  std::array<std::vector<PromptTemplate>, kNumTasks> templates_;
  PromptTemplate neutral_;
};

}  // namespace gensar::train
