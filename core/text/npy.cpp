#include "core/text/npy.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <regex>

#include "core/common/check.h"

namespace gensar::text {

torch::Tensor read_npy_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "cannot open {}", path);
  char magic[8] = {};
  in.read(magic, 8);
  GENSAR_INPUT_CHECK(in.good() && std::memcmp(magic, "\x93NUMPY", 6) == 0, "{}: not a .npy file", path);
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    GENSAR_INPUT_CHECK(major == 2 || major == 3, "{}: unsupported .npy version {}", path, major);
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  GENSAR_INPUT_CHECK(in.good(), "{}: truncated .npy header", path);
  std::smatch m;
  GENSAR_INPUT_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([<>|=]?)([fi])(\\d)'")),
                     "{}: .npy header has no readable dtype: {}", path, header);
  const std::string order = m[1], kind = m[2];
  const int width = std::stoi(m[3]);
  GENSAR_INPUT_CHECK(kind == "f" && (width == 4 || width == 8) && order != ">",
                     "{}: .npy dtype '{}{}{}' not supported (need little-endian float32 '<f4' or float64 '<f8')",
                     path, order, kind, width);
  GENSAR_INPUT_CHECK(std::regex_search(header, std::regex("'fortran_order':\\s*False")),
                     "{}: Fortran-ordered arrays are unsupported (save with np.ascontiguousarray)", path);
  GENSAR_INPUT_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)")),
                     "{}: expected a 2-D array (items x dim), header: {}", path, header);
  const int64_t rows = std::stoll(m[1]), cols = std::stoll(m[2]);
  torch::Tensor raw = torch::empty({rows, cols}, width == 4 ? torch::kFloat32 : torch::kFloat64);
  const size_t bytes = static_cast<size_t>(rows * cols) * width;
  in.read(static_cast<char*>(raw.data_ptr()), static_cast<std::streamsize>(bytes));
  GENSAR_INPUT_CHECK(static_cast<size_t>(in.gcount()) == bytes, "{}: data is shorter than its shape ({} x {})",
                     path, rows, cols);
  return raw.to(torch::kFloat32);
}

void write_npy_matrix(const std::string& path, const torch::Tensor& matrix) {
  GENSAR_CHECK(matrix.dim() == 2, "write_npy_matrix wants a 2-D tensor");
  torch::Tensor m = matrix.to(torch::kFloat32).contiguous();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.size(0)) + ", " +
                       std::to_string(m.size(1)) + "), }";
  // Pad so the data starts on a 64-byte boundary, header ending in '\n' (the format's rule).
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  GENSAR_INPUT_CHECK(out.good(), "cannot write {}", path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(m.data_ptr()), static_cast<std::streamsize>(m.numel() * 4));
  GENSAR_INPUT_CHECK(out.good(), "error writing {}", path);
}

}  // namespace gensar::text
