#include "data_pipeline/readers/json_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/common/check.h"

namespace gensar::data {

int64_t JsonFile::line_at(size_t byte) const {
  byte = std::min(byte, text.size());
  return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n');
}

int64_t JsonFile::line_of_key(std::string_view key, size_t from) const {
  std::string quoted = "\"" + std::string(key) + "\"";
  size_t pos = from;
  while ((pos = text.find(quoted, pos)) != std::string::npos) {
    size_t after = text.find_first_not_of(" \t\r\n", pos + quoted.size());
    if (after != std::string::npos && text[after] == ':') return line_at(pos);
    pos += quoted.size();
  }
  return 0;
}

JsonFile load_json_file(const std::string& path) {
  JsonFile f;
  f.path = path;
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  f.text = ss.str();
  GENSAR_INPUT_CHECK(f.text.find_first_not_of(" \t\r\n") != std::string::npos, "{}:1: empty file",
                     path);
  try {
    auto record_keys = [&f](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key) f.keys.push_back(parsed.get<std::string>());
      return true;
    };
    f.doc = nlohmann::json::parse(f.text, record_keys);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() quotes the offending bytes, which may not be UTF-8: kept as they are (the message
    // is printed, never re-encoded as JSON).
    throw InputError(fmt::format("{}:{}: malformed JSON (byte {}): {}", path,
                                 f.line_at(e.byte > 0 ? e.byte - 1 : 0), e.byte, e.what()));
  }
  // nlohmann keeps the last of two equal keys: a repeated user (or item) would silently replace
  // the first one's whole sequence.
  if (f.doc.is_object() && f.doc.size() != f.keys.size()) {
    std::unordered_set<std::string_view> seen;
    for (const std::string& key : f.keys) {
      if (seen.insert(key).second) continue;
      const std::string quoted = "\"" + key + "\"";
      const int64_t first = f.line_of_key(key);
      size_t after_first = f.text.find(quoted);
      int64_t second = f.line_of_key(key, after_first == std::string::npos ? 0 : after_first + 1);
      throw InputError(fmt::format("{}:{}: key '{}' repeated (first at line {})", path, second, key,
                                   first));
    }
  }
  return f;
}

}  // namespace gensar::data
