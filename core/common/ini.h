// The one reader of INI-style files: run configs (key = value under [sections]) and prompt files
// (template lines under [task] sections). Blank lines and comments are skipped, lines are trimmed,
// every line keeps its number so errors can name file and line.
#pragma once

#include <functional>
#include <istream>
#include <map>
#include <string>

namespace gensar {

struct IniLine {
  std::string section;  // "" before the first header
  std::string text;     // trimmed, never empty
  int number = 0;       // 1-based
};

struct IniGrammar {
  std::string comment_starts = "#;";  // a line starting with one of these is a comment
  bool strict_headers = true;         // "[x" without "]" is an error (else an ordinary line)
};

// Calls `on_header` for each "[name]" line (name trimmed) and `on_line` for every other content
// line. `source` names the input in errors.
void read_ini_lines(std::istream& in, const std::string& source, const IniGrammar& grammar,
                    const std::function<void(const IniLine& header)>& on_header,
                    const std::function<void(const IniLine& line)>& on_line);

// A config: section -> key -> (value, line). The top level is section "". InputError naming file
// and line on a line without '=', an empty key or a key repeated in its section.
struct IniEntry {
  std::string value;
  int line = 0;
};
using IniFile = std::map<std::string, std::map<std::string, IniEntry>>;
IniFile parse_ini(std::istream& in, const std::string& source);
IniFile read_ini(const std::string& path);

}  // namespace gensar
