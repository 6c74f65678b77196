// Many strings in two arrays: concatenated bytes and n+1 offsets into them. The dataset files store
// their text columns this way (group/offsets, group/bytes), which reads back without per-string
// allocations and is byte-identical for identical content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gensar {

struct StringColumn {
  std::vector<int64_t> offsets{0};  // size n+1
  std::string bytes;
  size_t size() const { return offsets.size() - 1; }
  std::string_view get(size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  void push_back(std::string_view s) {
    bytes.append(s.data(), s.size());
    offsets.push_back(static_cast<int64_t>(bytes.size()));
  }
};

}  // namespace gensar
