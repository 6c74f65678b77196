#include "data_pipeline/query_words.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace gensar::data {

bool is_stop_word(std::string_view word) {
  // A short English list (the usual function words; category paths have few others). "&" and
  // punctuation never reach here: tokenisation drops them.
  static const std::set<std::string_view> kStop = {
      "a",    "an",   "and",  "are",  "as",   "at",    "be",   "but",  "by",   "for",  "from",
      "has",  "have", "in",   "into", "is",   "it",    "its",  "of",   "on",   "or",   "other",
      "s",    "so",   "than", "that", "the",  "their", "then", "there", "these", "this", "to",
      "was",  "were", "will", "with", "without", "your", "you", "our",  "all",  "more", "most",
      "not",  "no",   "amp",  "etc"};
  return kStop.count(word) > 0;
}

std::string query_from_text(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && !is_stop_word(word) &&
        std::find(words.begin(), words.end(), word) == words.end()) {
      words.push_back(word);
    }
    word.clear();
  };
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    // Bytes >= 0x80 (UTF-8 letters) stay inside words.
    if (std::isalnum(u) || u >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else {
      flush();
    }
  }
  flush();
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

std::string query_for_item(const RawItem& item) {
  std::string q = query_from_text(item.categories);
  if (q.empty()) q = query_from_text(item.title);
  return q;
}

}  // namespace gensar::data
