// The config system: every option is both a command-line flag and a config-file key.
//
// Precedence: flag > config file > default. A config file is INI: top-level `key = value` lines
// apply to every verb that has that option; `[verb]` sections apply to one verb. Every key must be
// an option of some verb (of that verb, inside its section): a typo is an error naming file and line.
#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/common/ini.h"

namespace gensar::launch {

namespace po = boost::program_options;

struct Verb {
  std::string name;
  std::string summary;
  // Adds the verb's options (beyond the common ones: --config, --help, --dump-config, --log-level).
  std::function<void(po::options_description&)> add_options;
  // Option names that may also be given positionally, in order (the last may repeat if marked).
  std::vector<std::string> positional;
  std::function<int(const po::variables_map&)> run;
};

// All verbs, in the order `gensar --help` lists them (defined in launch/verb_table.cpp).
const std::vector<Verb>& all_verbs();
const Verb* find_verb(const std::string& name);

// One parsed INI file (core/common/ini.h): section -> key -> (value, line); top level is "".
using gensar::IniEntry;
using gensar::IniFile;
using gensar::read_ini;

// Full option set of a verb, common options included.
po::options_description verb_options(const Verb& verb);

// Parses flags + config file for `verb`; throws InputError on unknown flags or keys.
// `args` excludes the program and verb names.
po::variables_map resolve(const Verb& verb, const std::vector<std::string>& args);

// Resolves `verb`'s options from a config file alone (used by `pipeline` for each stage),
// with `overrides` (key -> value) applied on top.
po::variables_map resolve_from_file(const Verb& verb, const std::string& config_path,
                                    const std::map<std::string, std::string>& overrides = {});

// The resolved options as an INI section, defaults included: saved beside outputs and checkpoints.
std::string dump_config(const Verb& verb, const po::variables_map& vm);

// Renders an option value (as held by boost::any) as text.
std::string value_to_string(const boost::any& value);

}  // namespace gensar::launch
