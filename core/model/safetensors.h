// Minimal safetensors reader and writer (the format of Hugging Face checkpoints):
//   8 bytes: little-endian uint64 N = header length
//   N bytes: JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//            optional "__metadata__": {string: string}}, padded with spaces
//   data:    raw little-endian tensor bytes, offsets relative to the end of the header.
// Reads F32, F16, BF16, F64, I64, I32 (floating types are returned as float32); writes F32 / I64.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace gensar::model {

std::map<std::string, torch::Tensor> read_safetensors(const std::string& path);

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace gensar::model
