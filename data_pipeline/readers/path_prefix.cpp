#include "data_pipeline/readers/path_prefix.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/common/check.h"

namespace gensar::data {

namespace fs = std::filesystem;

std::string resolve_prefix(const std::string& input, const std::string& marker,
                           const std::string& format) {
  GENSAR_INPUT_CHECK(!input.empty(), "--input is required for --format {}", format);
  std::string prefix = input;
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(input, ec)) {
      std::string name = entry.path().filename().string();
      if (name.size() > marker.size() &&
          name.compare(name.size() - marker.size(), marker.size(), marker) == 0)
        found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    GENSAR_INPUT_CHECK(found.size() == 1, "{}: expected exactly one *{} file for --format {}, found {}",
                       input, marker, format, found.size());
    prefix = found[0].substr(0, found[0].size() - marker.size());
  }
  GENSAR_INPUT_CHECK(fs::exists(prefix + marker, ec), "{}{}: no such file (--format {})", prefix,
                     marker, format);
  return fs::absolute(prefix).lexically_normal().string();
}

}  // namespace gensar::data
