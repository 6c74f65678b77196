#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/common/check.h"
#include "distributed/watchdog.h"
#include "launch/config.h"
#include "launch/distributed_options.h"

using namespace gensar::launch;

namespace {

Verb test_verb() {
  return Verb{"testverb", "for tests",
              [](po::options_description& d) {
                d.add_options()("lr", po::value<double>()->default_value(0.1), "learning rate")
                    ("steps", po::value<int>()->default_value(10), "steps")
                    ("name", po::value<std::string>()->default_value("x"), "a name")
                    ("json", po::bool_switch(), "a switch");
              },
              {"name"},
              [](const po::variables_map&) { return 0; }};
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(DistributedOptions, ParsedValidatedAndApplied) {
  po::options_description desc;
  add_distributed_options(desc);
  auto parse = [&](std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
    return vm;
  };
  DistributedOptions d = apply_distributed_options(
      parse({"--tp-size", "2", "--collective-timeout", "42", "--bucket-cap-mb", "5"}));
  EXPECT_EQ(d.tp_size, 2);
  EXPECT_DOUBLE_EQ(d.bucket_cap_mb, 5.0);
  EXPECT_DOUBLE_EQ(gensar::dist::collective_timeout(), 42.0);
  EXPECT_EQ(d.device, "cpu");
  EXPECT_THROW(apply_distributed_options(parse({"--device", "tpu"})), gensar::InputError);
  EXPECT_THROW(apply_distributed_options(parse({"--keep-checkpoints", "0"})), gensar::InputError);
  gensar::dist::set_collective_timeout(60);
}

}  // namespace

TEST(Config, IniParsesSectionsAndLines) {
  auto path = write_file("a.ini", "# comment\nlr = 0.5\n\n[train]\nsteps = 3\n");
  IniFile ini = read_ini(path);
  EXPECT_EQ(ini[""]["lr"].value, "0.5");
  EXPECT_EQ(ini[""]["lr"].line, 2);
  EXPECT_EQ(ini["train"]["steps"].value, "3");
  EXPECT_EQ(ini["train"]["steps"].line, 5);
}

TEST(Config, MalformedLineNamesFileAndLine) {
  auto path = write_file("b.ini", "lr = 1\nthis line has no equals\n");
  try {
    read_ini(path);
    FAIL() << "expected an error";
  } catch (const gensar::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
  }
}

TEST(Config, FlagBeatsFileBeatsDefault) {
  Verb v = test_verb();
  // Top-level keys must belong to a registered verb; use the verb directly through its section.
  auto path = write_file("c.ini", "[info]\n");
  (void)path;
  po::options_description desc = verb_options(v);
  po::variables_map vm;
  std::vector<std::string> args = {"--lr=0.9", "positional-name"};
  po::positional_options_description pos;
  pos.add("name", 1);
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  po::notify(vm);
  EXPECT_DOUBLE_EQ(vm["lr"].as<double>(), 0.9);
  EXPECT_EQ(vm["steps"].as<int>(), 10);
  EXPECT_EQ(vm["name"].as<std::string>(), "positional-name");
  std::string dumped = dump_config(v, vm);
  EXPECT_NE(dumped.find("lr = 0.9"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("steps = 10"), std::string::npos) << dumped;
  // --json changes only what is printed, so it stays out of stage stamps.
  EXPECT_EQ(dumped.find("json"), std::string::npos) << dumped;
}

TEST(Config, UnknownKeyInRegisteredSectionIsAnError) {
  const Verb* info = find_verb("info");
  ASSERT_NE(info, nullptr);
  auto path = write_file("d.ini", "[info]\nno_such_key = 1\n");
  try {
    resolve(*info, {"--config", path});
    FAIL() << "expected an error";
  } catch (const gensar::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_such_key"), std::string::npos) << e.what();
  }
}

TEST(Config, UnknownSectionIsAnError) {
  const Verb* info = find_verb("info");
  auto path = write_file("e.ini", "[nonsense]\nx = 1\n");
  EXPECT_THROW(resolve(*info, {"--config", path}), gensar::InputError);
}

TEST(Config, FileValueAppliesAndFlagOverrides) {
  const Verb* info = find_verb("info");
  auto path = write_file("f.ini", "log-level = warn\n");
  auto vm = resolve(*info, {"--config", path});
  EXPECT_EQ(vm["log-level"].as<std::string>(), "warn");
  vm = resolve(*info, {"--config", path, "--log-level", "debug"});
  EXPECT_EQ(vm["log-level"].as<std::string>(), "debug");
}

// A run records its resolved options with dump_config (RUN/config.ini); that file must read back as
// a config, empty strings (unset paths) included.
TEST(Config, DumpedConfigReadsBackWithEmptyValues) {
  for (const char* name : {"eval"}) {  // every option has a default; several are empty paths
    const Verb* verb = find_verb(name);
    ASSERT_NE(verb, nullptr) << name;
    const std::string dumped = dump_config(*verb, resolve(*verb, {}));
    ASSERT_NE(dumped.find(" = \n"), std::string::npos) << name << " has no empty value:\n" << dumped;
    const std::string path = write_file(std::string("dumped-") + name + ".ini", dumped);
    EXPECT_EQ(dump_config(*verb, resolve(*verb, {"--config", path})), dumped) << name;
  }
}

TEST(Check, MessageCarriesContext) {
  try {
    int rows = 3;
    GENSAR_CHECK(rows == 4, "shard {} has {} rows, manifest says {}", "s0", rows, 4);
    FAIL();
  } catch (const gensar::Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("shard s0 has 3 rows, manifest says 4"), std::string::npos);
    EXPECT_NE(what.find("rows == 4"), std::string::npos);
  }
}
