// The INI reader on its own (no verb table): what scripts/sanitize.sh fuzzes.
#include <fstream>

#include "core/common/check.h"
#include "launch/config.h"

namespace gensar::launch {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

IniFile read_ini(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open config file '{}'", path);
  IniFile ini;
  std::string section, raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      GENSAR_INPUT_CHECK(line.back() == ']', "{}:{}: malformed section header '{}'", path, line_no,
                         line);
      section = trim(line.substr(1, line.size() - 2));
      ini[section];
      continue;
    }
    size_t eq = line.find('=');
    GENSAR_INPUT_CHECK(eq != std::string::npos, "{}:{}: expected 'key = value', got '{}'", path,
                       line_no, line);
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    GENSAR_INPUT_CHECK(!key.empty(), "{}:{}: empty key", path, line_no);
    GENSAR_INPUT_CHECK(!ini[section].count(key), "{}:{}: key '{}' repeated in section [{}]", path,
                       line_no, key, section);
    ini[section][key] = IniEntry{value, line_no};
  }
  return ini;
}

}  // namespace gensar::launch
