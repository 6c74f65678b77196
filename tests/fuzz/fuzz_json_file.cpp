// libFuzzer target: the JSON layer of the LC-Rec and P5 readers (data_pipeline/readers/json_file.cpp)
// on arbitrary bytes, including invalid UTF-8 and repeated keys. Bad input must end in
// gensar::InputError naming the file; the message must be printable. Built by scripts/sanitize.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/common/check.h"
#include "data_pipeline/readers/json_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/gensar-fuzz-json-" + std::to_string(::getpid()) + ".json";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    gensar::data::JsonFile j = gensar::data::load_json_file(path);
    for (const auto& key : j.keys) (void)j.line_of_key(key);
  } catch (const gensar::InputError& e) {
    if (std::string(e.what()).find(path) == std::string::npos) __builtin_trap();  // must name the file
  }
  return 0;
}
