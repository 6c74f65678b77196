// What gensar_text needs from HDF5 beyond data::h5::File's 1-D columns: 2-D float matrices,
// string attributes, and string datasets as other tools (h5py, pandas) write them.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "data_pipeline/h5.h"

namespace gensar::text::h5x {

void write_matrix(data::h5::File& file, const std::string& name, const torch::Tensor& matrix);  // float32 2-D
// Reads a 2-D float32 or float64 dataset as float32. InputError naming file and dataset otherwise.
torch::Tensor read_matrix(const data::h5::File& file, const std::string& name);

// 1-D variable-length UTF-8 string dataset (what h5py and the rqvae reader expect for item keys).
void write_string_dataset(data::h5::File& file, const std::string& name, const std::vector<std::string>& values);

void write_attribute(data::h5::File& file, const std::string& name, const std::string& value);  // on "/"
std::string read_attribute(const data::h5::File& file, const std::string& name);  // "" if absent

// Item keys from `name`: an offsets+bytes group (gensar), a 1-D string dataset (variable or fixed
// length), or a 1-D integer dataset (keys as decimal text).
std::vector<std::string> read_keys(const data::h5::File& file, const std::string& name);

}  // namespace gensar::text::h5x
