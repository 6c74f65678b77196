// JSON source files for the readers: parsed whole (the formats are single JSON documents), with
// errors that name the file and line. (ordered_json would keep key order but parses objects in
// quadratic time: 22k keys take seconds; the top-level key order is recorded instead.)
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace gensar::data {

struct JsonFile {
  std::string path;
  std::string text;
  nlohmann::json doc;             // objects keyed by std::map: fast lookups
  std::vector<std::string> keys;  // the top-level object's keys in file order
  // 1-based line of the first occurrence of `"key":` at or after byte `from` (0 if not found):
  // how messages point at an entry of a parsed document.
  int64_t line_of_key(std::string_view key, size_t from = 0) const;
  int64_t line_at(size_t byte) const;
};

// Throws InputError: unreadable, empty, or malformed (with the line of the parse error).
JsonFile load_json_file(const std::string& path);

}  // namespace gensar::data
