// libFuzzer target: the config file reader (core/common/ini.cpp) on arbitrary bytes. Bad input must
// end in gensar::InputError, never a crash, hang or sanitizer report. Built by scripts/sanitize.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/common/check.h"
#include "launch/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/gensar-fuzz-ini-" + std::to_string(::getpid()) + ".ini";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    gensar::launch::read_ini(path);
  } catch (const gensar::InputError&) {
  }
  return 0;
}
