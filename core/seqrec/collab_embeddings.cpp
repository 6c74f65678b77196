#include "core/seqrec/collab_embeddings.h"

#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/text/npy.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/h5.h"

namespace gensar::seqrec {
namespace {

using data::h5::Handle;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Handle vlen_utf8() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

void write_string_attr(hid_t obj, const char* name, const std::string& value,
                       const std::string& path) {
  Handle type = vlen_utf8();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  GENSAR_CHECK(attr.valid(), "{}: cannot create attribute {}", path, name);
  const char* ptr = value.c_str();
  GENSAR_CHECK(H5Awrite(attr.get(), type.get(), &ptr) >= 0, "{}: cannot write attribute {}", path, name);
}

std::string read_string_attr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return "";
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle ftype(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(ftype.get()) != H5T_STRING) return "";
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle type = vlen_utf8();
    char* ptr = nullptr;
    if (H5Aread(attr.get(), type.get(), &ptr) < 0 || !ptr) return "";
    std::string out(ptr);
    H5free_memory(ptr);
    return out;
  }
  std::string out(H5Tget_size(ftype.get()), '\0');
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), out.size());
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) return "";
  return std::string(out.c_str());
}

std::vector<hsize_t> dataset_dims(hid_t ds) {
  Handle space(H5Dget_space(ds), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(nd, 0)));
  if (nd > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::vector<std::string> read_keys(hid_t file, const std::string& path) {
  GENSAR_INPUT_CHECK(H5Lexists(file, "item_keys", H5P_DEFAULT) > 0,
                     "{}: no /item_keys dataset (expected 1-D strings or integers)", path);
  Handle ds(H5Dopen2(file, "item_keys", H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(ds.valid(), "{}: /item_keys is not a dataset", path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get());
  GENSAR_INPUT_CHECK(dims.size() == 1, "{}: /item_keys must be 1-D, has {} dimensions", path, dims.size());
  const size_t n = dims[0];
  std::vector<std::string> keys(n);
  if (n == 0) return keys;
  Handle ftype(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(ftype.get());
  if (cls == H5T_INTEGER) {
    std::vector<int64_t> ints(n);
    GENSAR_INPUT_CHECK(H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints.data()) >= 0,
                       "{}: cannot read /item_keys", path);
    for (size_t i = 0; i < n; ++i) keys[i] = std::to_string(ints[i]);
    return keys;
  }
  GENSAR_INPUT_CHECK(cls == H5T_STRING, "{}: /item_keys must hold strings or integers", path);
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle type = vlen_utf8();
    std::vector<char*> ptrs(n, nullptr);
    GENSAR_INPUT_CHECK(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
                       "{}: cannot read /item_keys", path);
    for (size_t i = 0; i < n; ++i) keys[i] = ptrs[i] ? ptrs[i] : "";
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return keys;
  }
  const size_t width = H5Tget_size(ftype.get());
  std::vector<char> buf(n * width);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), width);
  GENSAR_INPUT_CHECK(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0,
                     "{}: cannot read /item_keys", path);
  for (size_t i = 0; i < n; ++i) keys[i] = std::string(buf.data() + i * width, strnlen(buf.data() + i * width, width));
  return keys;
}

}  // namespace

void write_item_embeddings(const std::string& path, const ItemEmbeddings& table) {
  GENSAR_CHECK(table.values.size() == static_cast<size_t>(table.rows() * table.dim),
               "embedding table has {} values for {} x {}", table.values.size(), table.rows(), table.dim);
  // Written to a temporary name and renamed: a crash never leaves a file that looks complete.
  const std::string tmp = path + ".tmp";
  {
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    GENSAR_INPUT_CHECK(file.valid(), "{}: cannot create HDF5 file", tmp);
    {
      Handle type = vlen_utf8();
      hsize_t n = table.keys.size();
      Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      Handle ds(H5Dcreate2(file.get(), "item_keys", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT), H5Dclose);
      GENSAR_CHECK(ds.valid(), "{}: cannot create /item_keys", tmp);
      std::vector<const char*> ptrs;
      for (const auto& k : table.keys) ptrs.push_back(k.c_str());
      if (n > 0)
        GENSAR_CHECK(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
                     "{}: cannot write /item_keys", tmp);
    }
    {
      hsize_t dims[2] = {static_cast<hsize_t>(table.rows()), static_cast<hsize_t>(table.dim)};
      Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
      Handle ds(H5Dcreate2(file.get(), "embeddings", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
      GENSAR_CHECK(ds.valid(), "{}: cannot create /embeddings", tmp);
      if (!table.values.empty())
        GENSAR_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                              table.values.data()) >= 0, "{}: cannot write /embeddings (disk full?)", tmp);
    }
    write_string_attr(file.get(), "config_hash", table.config_hash, tmp);
    write_string_attr(file.get(), "source", table.source, tmp);
  }
  GENSAR_INPUT_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename {} to {}", tmp, path);
}

ItemEmbeddings read_item_embeddings(const std::string& path) {
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  GENSAR_INPUT_CHECK(file.valid(), "{}: cannot open as HDF5 file", path);
  ItemEmbeddings t;
  t.keys = read_keys(file.get(), path);
  GENSAR_INPUT_CHECK(H5Lexists(file.get(), "embeddings", H5P_DEFAULT) > 0,
                     "{}: no /embeddings dataset (expected float [items, dim])", path);
  Handle ds(H5Dopen2(file.get(), "embeddings", H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(ds.valid(), "{}: /embeddings is not a dataset", path);
  const std::vector<hsize_t> dims = dataset_dims(ds.get());
  GENSAR_INPUT_CHECK(dims.size() == 2, "{}: /embeddings must be 2-D [items, dim], has {} dimensions",
                     path, dims.size());
  Handle ftype(H5Dget_type(ds.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(ftype.get()) == H5T_FLOAT, "{}: /embeddings must hold floats", path);
  GENSAR_INPUT_CHECK(dims[0] == t.keys.size(), "{}: /embeddings has {} rows but /item_keys has {} keys",
                     path, dims[0], t.keys.size());
  t.dim = static_cast<int64_t>(dims[1]);
  t.values.resize(dims[0] * dims[1]);
  if (!t.values.empty())
    GENSAR_INPUT_CHECK(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                               t.values.data()) >= 0, "{}: cannot read /embeddings", path);
  t.config_hash = read_string_attr(file.get(), "config_hash");
  t.source = read_string_attr(file.get(), "source");
  return t;
}

std::vector<float> read_npy_matrix(const std::string& path, int64_t* rows, int64_t* dim) {
  const torch::Tensor m = text::read_npy_matrix(path).contiguous();
  *rows = m.size(0);
  *dim = m.size(1);
  const float* data = m.data_ptr<float>();
  return std::vector<float>(data, data + m.numel());
}

std::vector<std::string> read_key_lines(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "{}: cannot open keys file", path);
  std::vector<std::string> keys;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    GENSAR_INPUT_CHECK(!line.empty(), "{}:{}: empty item key", path, number);
    keys.push_back(line);
  }
  return keys;
}

ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const std::vector<std::string>& catalogue) {
  ItemEmbeddings raw;
  if (ends_with(input, ".npy")) {
    GENSAR_INPUT_CHECK(!keys_path.empty(), "{}: a .npy import needs --input-keys (one key per line)", input);
    int64_t rows = 0;
    raw.values = read_npy_matrix(input, &rows, &raw.dim);
    raw.keys = read_key_lines(keys_path);
    GENSAR_INPUT_CHECK(static_cast<int64_t>(raw.keys.size()) == rows,
                       "{}: {} rows but {} has {} keys", input, rows, keys_path, raw.keys.size());
  } else {
    GENSAR_INPUT_CHECK(ends_with(input, ".h5") || ends_with(input, ".hdf5"),
                       "{}: unknown embedding file type (expected .h5, .hdf5 or .npy)", input);
    raw = read_item_embeddings(input);
    if (!keys_path.empty()) {
      std::vector<std::string> keys = read_key_lines(keys_path);
      GENSAR_INPUT_CHECK(keys.size() == raw.keys.size(), "{}: {} rows but {} has {} keys", input,
                         raw.keys.size(), keys_path, keys.size());
      raw.keys = std::move(keys);
    }
  }
  GENSAR_INPUT_CHECK(raw.rows() > 0 && raw.dim > 0, "{}: empty embedding matrix ({} x {})", input,
                     raw.rows(), raw.dim);
  std::unordered_map<std::string, int64_t> row_of;
  for (int64_t i = 0; i < raw.rows(); ++i) {
    auto [it, fresh] = row_of.emplace(raw.keys[i], i);
    GENSAR_INPUT_CHECK(fresh, "{}: item '{}' appears twice (rows {} and {})", input, raw.keys[i],
                       it->second, i);
    const float* r = raw.values.data() + i * raw.dim;
    for (int64_t j = 0; j < raw.dim; ++j)
      GENSAR_INPUT_CHECK(std::isfinite(r[j]), "{}: item '{}' (row {}) has a non-finite value at column {}",
                         input, raw.keys[i], i, j);
  }
  ItemEmbeddings out;
  out.dim = raw.dim;
  out.keys = catalogue;
  out.values.resize(catalogue.size() * static_cast<size_t>(raw.dim));
  out.source = "file:" + input;
  int64_t missing = 0;
  std::string first_missing;
  for (size_t i = 0; i < catalogue.size(); ++i) {
    auto it = row_of.find(catalogue[i]);
    if (it == row_of.end()) {
      if (missing++ == 0) first_missing = catalogue[i];
      continue;
    }
    std::copy_n(raw.values.data() + it->second * raw.dim, raw.dim, out.values.data() + i * raw.dim);
  }
  GENSAR_INPUT_CHECK(missing == 0, "{}: {} of the dataset's {} items have no embedding (first: '{}')",
                     input, missing, catalogue.size(), first_missing);
  if (raw.rows() > static_cast<int64_t>(catalogue.size()))
    GENSAR_WARN("seqrec", "{}: {} rows for items not in the dataset were ignored", input,
                raw.rows() - static_cast<int64_t>(catalogue.size()));
  return out;
}

ItemEmbeddings import_item_embeddings(const std::string& input, const std::string& keys_path,
                                      const data::Dataset& dataset) {
  std::vector<std::string> catalogue;
  catalogue.reserve(static_cast<size_t>(dataset.num_items()));
  for (int32_t i = 0; i < dataset.num_items(); ++i) catalogue.emplace_back(dataset.item_key(i));
  return import_item_embeddings(input, keys_path, catalogue);
}

}  // namespace gensar::seqrec
