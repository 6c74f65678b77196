#include "launch/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/common/check.h"
#include "launch/ranged_option.h"

namespace gensar::launch {
namespace {

void add_common_options(po::options_description& desc) {
  desc.add_options()
      ("help,h", "show this help")
      ("config", po::value<std::string>(), "INI config file (flags override it)")
      ("dump-config", "print the resolved configuration as INI and exit")
      ("log-level", po::value<std::string>()->default_value("info"), "debug | info | warn | error");
}

bool verb_has_option(const Verb& verb, const std::string& key) {
  po::options_description desc = verb_options(verb);
  return desc.find_nothrow(key, false) != nullptr;
}

// Checks every key in the file belongs to some verb (top level) or to its section's verb.
void validate_ini(const IniFile& ini, const std::string& path) {
  for (const auto& [section, entries] : ini) {
    if (section.empty()) {
      for (const auto& [key, entry] : entries) {
        bool known = false;
        for (const Verb& v : all_verbs()) known = known || verb_has_option(v, key);
        GENSAR_INPUT_CHECK(known, "{}:{}: unknown config key '{}' (no verb has this option)", path,
                           entry.line, key);
      }
      continue;
    }
    const Verb* verb = find_verb(section);
    GENSAR_INPUT_CHECK(verb != nullptr, "{}:{}: unknown config section [{}] (sections name verbs)",
                       path, entries.empty() ? 0 : entries.begin()->second.line, section);
    for (const auto& [key, entry] : entries) {
      GENSAR_INPUT_CHECK(verb_has_option(*verb, key), "{}:{}: unknown key '{}' in section [{}]",
                         path, entry.line, key, section);
    }
  }
}

// "" when `key`'s stored value in `vm` is in range (or not a ranged option), else why not.
std::string range_violation(const po::options_description& desc, const po::variables_map& vm,
                            const std::string& key) {
  const po::option_description* opt = desc.find_nothrow(key, false);
  if (!opt || !vm.count(key)) return "";
  auto* check = dynamic_cast<const RangeCheck*>(opt->semantic().get());
  return check ? check->violation(vm[key].value()) : "";
}

// A bool_switch set from a file: only these spellings, so a typo like `ture` is not read as false.
bool parse_switch(const std::string& value, bool* out) {
  static const std::set<std::string> kTrue = {"true", "1", "yes", "on"};
  static const std::set<std::string> kFalse = {"false", "0", "no", "off"};
  if (kTrue.count(value)) *out = true;
  else if (kFalse.count(value)) *out = false;
  else return false;
  return true;
}

// Stores the file's values that apply to `verb`: its section wins over the top level. Each key is
// parsed on its own so that a bad or out-of-range value names the file and line it came from.
void store_ini(const Verb& verb, const IniFile& ini, const std::string& path,
               const po::options_description& desc, po::variables_map& vm) {
  std::map<std::string, IniEntry> values;
  if (auto it = ini.find(""); it != ini.end()) {
    for (const auto& [key, entry] : it->second)
      if (desc.find_nothrow(key, false)) values[key] = entry;
  }
  if (auto it = ini.find(verb.name); it != ini.end()) {
    for (const auto& [key, entry] : it->second) values[key] = entry;
  }
  for (const auto& [key, entry] : values) {
    const po::option_description* opt = desc.find_nothrow(key, false);
    std::vector<std::string> args;
    if (opt && opt->semantic()->max_tokens() == 0) {
      bool on = false;
      GENSAR_INPUT_CHECK(parse_switch(entry.value, &on),
                         "{}:{}: {} = '{}': expected true or false (also yes/no, on/off, 1/0)", path,
                         entry.line, key, entry.value);
      if (!on) continue;
      args.push_back("--" + key);
    } else if (entry.value.empty()) {
      // `key =` (an empty string, as dump_config writes unset paths) must stay a value: boost reads
      // "--key=" as a missing argument, but takes a separate empty token.
      args = {"--" + key, ""};
    } else {
      args.push_back("--" + key + "=" + entry.value);  // one token: values may start with '-'
    }
    po::variables_map one;
    try {
      po::store(po::command_line_parser(args).options(desc).run(), one);
    } catch (const po::error& e) {
      throw InputError(fmt::format("{}:{}: {} = '{}': {}", path, entry.line, key, entry.value, e.what()));
    }
    const std::string why = range_violation(desc, one, key);
    GENSAR_INPUT_CHECK(why.empty(), "{}:{}: {} = {}: {}", path, entry.line, key, entry.value, why);
    po::store(po::command_line_parser(args).options(desc).run(), vm);
  }
}

}  // namespace

const Verb* find_verb(const std::string& name) {
  for (const Verb& v : all_verbs())
    if (v.name == name) return &v;
  return nullptr;
}

po::options_description verb_options(const Verb& verb) {
  po::options_description desc(verb.name + " options");
  add_common_options(desc);
  if (verb.add_options) verb.add_options(desc);
  return desc;
}

po::variables_map resolve(const Verb& verb, const std::vector<std::string>& args) {
  po::options_description desc = verb_options(verb);
  po::positional_options_description pos;
  for (const std::string& name : verb.positional) pos.add(name.c_str(), 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    for (const auto& [key, value] : vm) {
      if (value.defaulted()) continue;
      const std::string why = range_violation(desc, vm, key);
      GENSAR_INPUT_CHECK(why.empty(), "gensar {}: --{}: {}", verb.name, key, why);
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      IniFile ini = read_ini(path);
      validate_ini(ini, path);
      store_ini(verb, ini, path, desc, vm);
    }
    if (!vm.count("help")) po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(fmt::format("gensar {}: {} (see gensar {} --help)", verb.name, e.what(),
                                 verb.name));
  }
  return vm;
}

po::variables_map resolve_from_file(const Verb& verb, const std::string& config_path,
                                    const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> args;
  for (const auto& [key, value] : overrides) args.push_back("--" + key + "=" + value);
  if (!config_path.empty()) args.push_back("--config=" + config_path);
  return resolve(verb, args);
}

std::string value_to_string(const boost::any& v) {
  if (v.empty()) return "";
  if (auto p = boost::any_cast<std::string>(&v)) return *p;
  if (auto p = boost::any_cast<int>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<int64_t>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<uint64_t>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<double>(&v)) return fmt::format("{}", *p);
  if (auto p = boost::any_cast<float>(&v)) return fmt::format("{}", *p);
  if (auto p = boost::any_cast<bool>(&v)) return *p ? "true" : "false";
  if (auto p = boost::any_cast<std::vector<std::string>>(&v)) {
    std::string out;
    for (const auto& s : *p) out += (out.empty() ? "" : ",") + s;
    return out;
  }
  if (auto p = boost::any_cast<std::vector<int>>(&v)) {
    std::string out;
    for (int x : *p) out += (out.empty() ? "" : ",") + std::to_string(x);
    return out;
  }
  return "<unprintable>";
}

std::string dump_config(const Verb& verb, const po::variables_map& vm) {
  std::ostringstream out;
  out << "[" << verb.name << "]\n";
  // --json only changes how a verb prints its result: it must not make a pipeline stage stale.
  static const std::set<std::string> kSkip = {"help", "config", "dump-config", "json"};
  for (const auto& [key, value] : vm) {
    if (kSkip.count(key)) continue;
    out << key << " = " << value_to_string(value.value()) << "\n";
  }
  return out.str();
}

}  // namespace gensar::launch
