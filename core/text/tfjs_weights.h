// Reads a TF.js graph model's weights: model.json's weightsManifest lists every weight (name,
// shape, dtype) in the order its bytes are packed across the shard files.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace gensar::text {

// name -> tensor (float32 or int32, owning its memory). Throws InputError naming the file on a
// missing shard, a size mismatch, or an unsupported dtype/quantization.
std::map<std::string, torch::Tensor> load_tfjs_weights(const std::string& model_dir);

}  // namespace gensar::text
