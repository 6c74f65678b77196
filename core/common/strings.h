// Small text helpers every module needs (config lines, list flags, key files).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gensar {

inline constexpr std::string_view kWhitespace = " \t\r\n\f\v";

// `s` without leading and trailing `chars`.
std::string_view trim_view(std::string_view s, std::string_view chars = kWhitespace);
inline std::string trim(std::string_view s, std::string_view chars = kWhitespace) {
  return std::string(trim_view(s, chars));
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "a, b,,c" -> {"a", "b", "c"}: items trimmed, empty items dropped.
std::vector<std::string> split_list(std::string_view text, char separator = ',');

}  // namespace gensar
