#include "core/common/ini.h"

#include <fstream>

#include "core/common/check.h"
#include "core/common/strings.h"

namespace gensar {

void read_ini_lines(std::istream& in, const std::string& source, const IniGrammar& grammar,
                    const std::function<void(const IniLine& header)>& on_header,
                    const std::function<void(const IniLine& line)>& on_line) {
  std::string raw, section;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    std::string text = trim(raw);
    if (text.empty() || grammar.comment_starts.find(text[0]) != std::string::npos) continue;
    if (text.front() == '[') {
      const bool closed = text.back() == ']';
      GENSAR_INPUT_CHECK(closed || !grammar.strict_headers, "{}:{}: malformed section header '{}'", source,
                         number, text);
      if (closed) {
        section = trim(std::string_view(text).substr(1, text.size() - 2));
        on_header(IniLine{section, section, number});
        continue;
      }
    }
    on_line(IniLine{section, std::move(text), number});
  }
}

IniFile parse_ini(std::istream& in, const std::string& source) {
  IniFile ini;
  read_ini_lines(
      in, source, IniGrammar{}, [&](const IniLine& header) { ini[header.section]; },
      [&](const IniLine& line) {
        const size_t eq = line.text.find('=');
        GENSAR_INPUT_CHECK(eq != std::string::npos, "{}:{}: expected 'key = value', got '{}'", source,
                           line.number, line.text);
        std::string key = trim(std::string_view(line.text).substr(0, eq));
        GENSAR_INPUT_CHECK(!key.empty(), "{}:{}: empty key", source, line.number);
        GENSAR_INPUT_CHECK(!ini[line.section].count(key), "{}:{}: key '{}' repeated in section [{}]", source,
                           line.number, key, line.section);
        ini[line.section][key] = IniEntry{trim(std::string_view(line.text).substr(eq + 1)), line.number};
      });
  return ini;
}

IniFile read_ini(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open config file '{}'", path);
  return parse_ini(in, path);
}

}  // namespace gensar
