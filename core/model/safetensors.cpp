#include "core/model/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "core/common/check.h"

namespace gensar::model {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little endian");

torch::ScalarType parse_dtype(const std::string& dtype, const std::string& path,
                              const std::string& name) {
  if (dtype == "F32") return torch::kFloat;
  if (dtype == "F16") return torch::kHalf;
  if (dtype == "BF16") return torch::kBFloat16;
  if (dtype == "F64") return torch::kDouble;
  if (dtype == "I64") return torch::kLong;
  if (dtype == "I32") return torch::kInt;
  GENSAR_INPUT_CHECK(false, "{}: tensor '{}' has unsupported dtype {}", path, name, dtype);
  return torch::kFloat;
}

}  // namespace

std::map<std::string, torch::Tensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "cannot open safetensors file {}", path);
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t header_len = 0;
  GENSAR_INPUT_CHECK(file_size >= 8 && in.read(reinterpret_cast<char*>(&header_len), 8),
                     "{}: too short for a safetensors header", path);
  GENSAR_INPUT_CHECK(header_len <= file_size - 8, "{}: header length {} exceeds file size {}", path,
                     header_len, file_size);
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    GENSAR_INPUT_CHECK(false, "{}: header is not valid JSON: {}", path, e.what());
  }
  const uint64_t data_start = 8 + header_len;
  std::map<std::string, torch::Tensor> out;
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& entry = it.value();
    GENSAR_INPUT_CHECK(entry.contains("dtype") && entry.contains("shape") &&
                           entry.contains("data_offsets"),
                       "{}: tensor '{}' lacks dtype, shape or data_offsets", path, it.key());
    const auto dtype = parse_dtype(entry["dtype"].get<std::string>(), path, it.key());
    const auto shape = entry["shape"].get<std::vector<int64_t>>();
    const auto offsets = entry["data_offsets"].get<std::vector<uint64_t>>();
    GENSAR_INPUT_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] &&
                           data_start + offsets[1] <= file_size,
                       "{}: tensor '{}' has data offsets outside the file", path, it.key());
    auto tensor = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    const uint64_t bytes = offsets[1] - offsets[0];
    GENSAR_INPUT_CHECK(bytes == static_cast<uint64_t>(tensor.nbytes()),
                       "{}: tensor '{}' has {} bytes, shape and dtype need {}", path, it.key(),
                       bytes, tensor.nbytes());
    in.seekg(static_cast<std::streamoff>(data_start + offsets[0]));
    in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(bytes));
    GENSAR_INPUT_CHECK(in.good(), "{}: short read for tensor '{}'", path, it.key());
    if (torch::isFloatingType(dtype) && dtype != torch::kFloat) tensor = tensor.to(torch::kFloat);
    out[it.key()] = tensor;
  }
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json meta = nlohmann::json::object();
  if (!metadata.empty()) meta["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, value] : tensors) {
    torch::Tensor t = value.detach().contiguous();
    if (torch::isFloatingType(t.scalar_type())) t = t.to(torch::kFloat);
    GENSAR_CHECK(t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kLong,
                 "safetensors writer: tensor '{}' has unsupported type {}", name,
                 c10::toString(t.scalar_type()));
    const uint64_t bytes = t.nbytes();
    meta[name] = {{"dtype", t.scalar_type() == torch::kFloat ? "F32" : "I64"},
                  {"shape", t.sizes().vec()},
                  {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(t);
  }
  std::string header = meta.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const uint64_t header_len = header.size();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    GENSAR_INPUT_CHECK(out.good(), "cannot write {}", tmp);
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& t : blobs) {
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    }
    GENSAR_INPUT_CHECK(out.good(), "short write to {}", tmp);
  }
  GENSAR_INPUT_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename {} to {}", tmp,
                     path);
}

}  // namespace gensar::model
