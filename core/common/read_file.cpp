#include "core/common/read_file.h"

#include <fstream>
#include <sstream>

#include "core/common/check.h"

namespace gensar {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "cannot read {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace gensar
