#include "core/text/tfjs_weights.h"

#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/common/check.h"

namespace gensar::text {

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "cannot open {} (run scripts/setup-npm.sh)", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::map<std::string, torch::Tensor> load_tfjs_weights(const std::string& model_dir) {
  const std::string json_path = model_dir + "/model.json";
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(read_bytes(json_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", json_path, e.what()));
  }
  GENSAR_INPUT_CHECK(model.contains("weightsManifest"), "{}: no weightsManifest", json_path);

  std::map<std::string, torch::Tensor> weights;
  for (const auto& group : model["weightsManifest"]) {
    // A group's weights are packed back to back across its shards, so read the shards as one blob.
    std::string blob;
    for (const auto& shard : group["paths"]) blob += read_bytes(model_dir + "/" + shard.get<std::string>());
    size_t offset = 0;
    for (const auto& spec : group["weights"]) {
      const auto name = spec["name"].get<std::string>();
      const auto dtype = spec["dtype"].get<std::string>();
      GENSAR_INPUT_CHECK(!spec.contains("quantization"), "{}: weight {} is quantized (unsupported)",
                         json_path, name);
      std::vector<int64_t> shape = spec["shape"].get<std::vector<int64_t>>();
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      torch::ScalarType type;
      size_t item_bytes = 4;
      if (dtype == "float32") {
        type = torch::kFloat32;
      } else if (dtype == "int32") {
        type = torch::kInt32;
      } else {
        throw InputError(fmt::format("{}: weight {} has unsupported dtype {}", json_path, name, dtype));
      }
      const size_t bytes = static_cast<size_t>(count) * item_bytes;
      GENSAR_INPUT_CHECK(offset + bytes <= blob.size(),
                         "{}: weight {} needs bytes [{}, {}) but the shards hold {}", json_path, name,
                         offset, offset + bytes, blob.size());
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
      std::memcpy(t.data_ptr(), blob.data() + offset, bytes);
      offset += bytes;
      weights[name] = t;
    }
    GENSAR_INPUT_CHECK(offset == blob.size(), "{}: manifest covers {} bytes but the shards hold {}",
                       json_path, offset, blob.size());
  }
  return weights;
}

}  // namespace gensar::text
