// XXH64 (Yann Collet's xxHash, 64-bit variant, written from its public specification): fast
// checksums for shard files and the config hash. Output text form: "xxh64:<16 hex digits>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gensar::data {

class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0);
  void update(const void* data, size_t n);
  uint64_t digest() const;

 private:
  uint64_t v_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  unsigned char buf_[32];
  size_t buffered_ = 0;
};

uint64_t xxh64(std::string_view bytes, uint64_t seed = 0);
std::string xxh64_hex(uint64_t h);               // "xxh64:0123456789abcdef"
std::string file_checksum(const std::string& path);  // streams the file

}  // namespace gensar::data
