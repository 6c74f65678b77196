#include "core/text/h5_extras.h"

#include <hdf5.h>
#include <torch/torch.h>

#include "core/common/check.h"

namespace gensar::text::h5x {

using data::h5::Handle;

namespace {

Handle open_dataset(const data::h5::File& file, const std::string& name) {
  GENSAR_INPUT_CHECK(file.exists(name), "{}: no dataset '{}'", file.path(), name);
  Handle d(H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(d.valid(), "{}: '{}' is not a dataset", file.path(), name);
  return d;
}

std::vector<hsize_t> dims_of(const data::h5::File& file, const std::string& name, hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  GENSAR_INPUT_CHECK(rank >= 0, "{}: cannot read the shape of '{}'", file.path(), name);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

}  // namespace

void write_matrix(data::h5::File& file, const std::string& name, const torch::Tensor& matrix) {
  GENSAR_CHECK(matrix.dim() == 2 && matrix.scalar_type() == torch::kFloat32, "write_matrix wants float32 2-D");
  torch::Tensor m = matrix.contiguous();
  hsize_t dims[2] = {static_cast<hsize_t>(m.size(0)), static_cast<hsize_t>(m.size(1))};
  Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Handle d(H5Dcreate2(file.id(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
           H5Dclose);
  GENSAR_CHECK(d.valid(), "{}: cannot create dataset {}", file.path(), name);
  if (m.numel() > 0)
    GENSAR_CHECK(H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data_ptr<float>()) >= 0,
                 "{}: cannot write {}", file.path(), name);
}

torch::Tensor read_matrix(const data::h5::File& file, const std::string& name) {
  Handle d = open_dataset(file, name);
  auto dims = dims_of(file, name, d.get());
  GENSAR_INPUT_CHECK(dims.size() == 2, "{}: dataset '{}' has {} dimensions, expected 2 (items x dim)",
                     file.path(), name, dims.size());
  Handle type(H5Dget_type(d.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(type.get()) == H5T_FLOAT, "{}: dataset '{}' is not floating point",
                     file.path(), name);
  torch::Tensor out = torch::empty({static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1])}, torch::kFloat32);
  if (out.numel() > 0)
    GENSAR_INPUT_CHECK(H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr<float>()) >= 0,
                       "{}: cannot read dataset '{}'", file.path(), name);
  return out;
}

void write_string_dataset(data::h5::File& file, const std::string& name, const std::vector<std::string>& values) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  hsize_t dims[1] = {static_cast<hsize_t>(values.size())};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Handle d(H5Dcreate2(file.id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
           H5Dclose);
  GENSAR_CHECK(d.valid(), "{}: cannot create dataset {}", file.path(), name);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!values.empty())
    GENSAR_CHECK(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) >= 0,
                 "{}: cannot write {}", file.path(), name);
}

void write_attribute(data::h5::File& file, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(file.id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  GENSAR_CHECK(attr.valid(), "{}: cannot create attribute {}", file.path(), name);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  GENSAR_CHECK(H5Awrite(attr.get(), type.get(), padded.data()) >= 0, "{}: cannot write attribute {}", file.path(), name);
}

std::string read_attribute(const data::h5::File& file, const std::string& name) {
  if (H5Aexists(file.id(), name.c_str()) <= 0) return "";
  Handle attr(H5Aopen(file.id(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(type.get()) == H5T_STRING, "{}: attribute {} is not a string", file.path(), name);
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Aread(attr.get(), mem.get(), &value);
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  H5Aread(attr.get(), type.get(), out.data());
  return out.substr(0, out.find('\0'));
}

std::vector<std::string> read_keys(const data::h5::File& file, const std::string& name) {
  GENSAR_INPUT_CHECK(file.exists(name), "{}: no item keys '{}'", file.path(), name);
  bool is_group = false;
  {
    Handle object(H5Oopen(file.id(), name.c_str(), H5P_DEFAULT), H5Oclose);
    is_group = object.valid() && H5Iget_type(object.get()) == H5I_GROUP;
  }
  std::vector<std::string> keys;
  if (is_group) {
    data::StringColumn column = file.read_strings(name);
    for (size_t i = 0; i < column.size(); ++i) keys.emplace_back(column.get(i));
    return keys;
  }
  Handle d = open_dataset(file, name);
  auto dims = dims_of(file, name, d.get());
  GENSAR_INPUT_CHECK(dims.size() == 1, "{}: item keys '{}' must be 1-D, has {} dimensions", file.path(), name,
                     dims.size());
  const size_t n = dims[0];
  Handle type(H5Dget_type(d.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_INTEGER) {
    std::vector<int64_t> ids(n);
    if (n) H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data());
    for (int64_t id : ids) keys.push_back(std::to_string(id));
    return keys;
  }
  GENSAR_INPUT_CHECK(cls == H5T_STRING, "{}: item keys '{}' are neither strings nor integers", file.path(), name);
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> values(n, nullptr);
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    if (n) GENSAR_INPUT_CHECK(H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
                              "{}: cannot read item keys '{}'", file.path(), name);
    for (char* v : values) keys.emplace_back(v ? v : "");
    Handle space(H5Dget_space(d.get()), H5Sclose);
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, values.data());
    return keys;
  }
  const size_t width = H5Tget_size(type.get());
  std::string buffer(n * width, '\0');
  if (n) GENSAR_INPUT_CHECK(H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) >= 0,
                            "{}: cannot read item keys '{}'", file.path(), name);
  for (size_t i = 0; i < n; ++i) {
    std::string key = buffer.substr(i * width, width);
    keys.push_back(key.substr(0, key.find('\0')));
  }
  return keys;
}

}  // namespace gensar::text::h5x
