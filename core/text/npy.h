// Minimal NumPy .npy support for 2-D float matrices (what np.save writes for an embedding table):
// little-endian float32/float64, C order, format versions 1-3.
#pragma once

#include <torch/types.h>

#include <string>

namespace gensar::text {

torch::Tensor read_npy_matrix(const std::string& path);  // as float32; InputError naming the file
void write_npy_matrix(const std::string& path, const torch::Tensor& matrix);  // float32, version 1.0

}  // namespace gensar::text
