// gensar VERB [options]: one binary, one verb per pipeline stage.
#include <cstdio>
#include <iostream>

#include "core/common/tensor_heap.h"
#include "core/common/cpu_numerics.h"
#include "core/common/check.h"
#include "core/common/log.h"
#include "launch/config.h"

namespace {

void print_usage() {
  std::printf("usage: gensar VERB [options]   (gensar VERB --help for a verb's options)\n\nverbs:\n");
  for (const auto& verb : gensar::launch::all_verbs())
    std::printf("  %-14s %s\n", verb.name.c_str(), verb.summary.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gensar::launch;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  gensar::configure_tensor_heap();  // before the first large allocation (core/common/tensor_heap.h)
  gensar::flush_denormals();      // subnormal floats cost microcode assists (core/common/cpu_numerics.h)
  const std::string name = argv[1];
  const Verb* verb = find_verb(name);
  if (!verb) {
    std::fprintf(stderr, "gensar: unknown verb '%s'\n\n", name.c_str());
    print_usage();
    return 2;
  }
  try {
    std::vector<std::string> args(argv + 2, argv + argc);
    po::variables_map vm = resolve(*verb, args);
    if (vm.count("help")) {
      std::cout << "gensar " << verb->name << ": " << verb->summary << "\n\n"
                << verb_options(*verb) << "\n";
      return 0;
    }
    if (vm.count("dump-config")) {
      std::cout << dump_config(*verb, vm);
      return 0;
    }
    gensar::log::Level level;
    GENSAR_INPUT_CHECK(gensar::log::parse_level(vm["log-level"].as<std::string>(), &level),
                       "--log-level: expected debug|info|warn|error, got '{}'",
                       vm["log-level"].as<std::string>());
    gensar::log::set_level(level);
    return verb->run(vm);
  } catch (const gensar::InputError& e) {
    std::fprintf(stderr, "gensar %s: error: %s\n", name.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gensar %s: error: %s\n", name.c_str(), e.what());
    return 1;
  }
}
