#include "core/rqvae/h5_file.h"

#include <mutex>

#include "core/common/check.h"

namespace gensar::rqvae {
namespace {

// HDF5 prints its own error stack to stderr by default; our exceptions say what failed instead.
void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::vector<hsize_t> to_hsize(const std::vector<uint64_t>& dims) {
  return std::vector<hsize_t>(dims.begin(), dims.end());
}

}  // namespace

H5Handle& H5Handle::operator=(H5Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void H5Handle::reset() {
  if (id_ >= 0 && closer_) closer_(id_);
  id_ = -1;
}

H5File::H5File(const std::string& path, Mode mode) : path_(path) {
  silence_hdf5_errors();
  hid_t id = mode == Mode::kRead ? H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)
                                 : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  GENSAR_INPUT_CHECK(id >= 0, "{}: cannot {} HDF5 file", path,
                     mode == Mode::kRead ? "open (missing or not HDF5?)" : "create");
  file_ = H5Handle(id, H5Fclose);
}

bool H5File::has(const std::string& name) const {
  // H5Lexists fails on a missing intermediate group, so walk the path one component at a time.
  size_t pos = 0;
  while (true) {
    size_t next = name.find('/', pos + 1);
    std::string prefix = name.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (next == std::string::npos) return true;
    pos = next;
  }
}

void H5File::create_group(const std::string& name) {
  if (has(name)) return;
  hid_t g = H5Gcreate2(file_.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  GENSAR_CHECK(g >= 0, "{}: cannot create group {}", path_, name);
  H5Gclose(g);
}

H5Handle H5File::open_dataset(const std::string& name) const {
  GENSAR_INPUT_CHECK(has(name), "{}: dataset '{}' is missing", path_, name);
  hid_t d = H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT);
  GENSAR_INPUT_CHECK(d >= 0, "{}: '{}' is not a dataset", path_, name);
  return H5Handle(d, H5Dclose);
}

std::vector<uint64_t> H5File::dims(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle space(H5Dget_space(d.get()), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  GENSAR_INPUT_CHECK(rank >= 0, "{}: cannot read the shape of '{}'", path_, name);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<uint64_t>(dims.begin(), dims.end());
}

bool H5File::is_string(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle type(H5Dget_type(d.get()), H5Tclose);
  return H5Tget_class(type.get()) == H5T_STRING;
}

bool H5File::is_integer(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle type(H5Dget_type(d.get()), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER;
}

void H5File::write_strings(const std::string& name, const std::vector<std::string>& values) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5Handle d(H5Dcreate2(file_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose);
  GENSAR_CHECK(d.valid(), "{}: cannot create dataset {}", path_, name);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0) {
    GENSAR_CHECK(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
                 "{}: cannot write {}", path_, name);
  }
}

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle file_type(H5Dget_type(d.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(file_type.get()) == H5T_STRING, "{}: '{}' is not a string dataset",
                     path_, name);
  std::vector<uint64_t> shape = dims(name);
  GENSAR_INPUT_CHECK(shape.size() == 1, "{}: '{}' must be one-dimensional, has {} dimensions", path_,
                     name, shape.size());
  size_t n = shape[0];
  std::vector<std::string> out(n);
  if (n == 0) return out;
  if (H5Tis_variable_str(file_type.get()) > 0) {
    H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(file_type.get()));
    std::vector<char*> ptrs(n, nullptr);
    GENSAR_INPUT_CHECK(H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
                       "{}: cannot read strings '{}'", path_, name);
    for (size_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    H5Handle space(H5Dget_space(d.get()), H5Sclose);
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    size_t width = H5Tget_size(file_type.get());
    std::vector<char> buf(n * width);
    GENSAR_INPUT_CHECK(
        H5Dread(d.get(), file_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0,
        "{}: cannot read strings '{}'", path_, name);
    for (size_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * width;
      size_t len = 0;
      while (len < width && s[len] != '\0') ++len;
      out[i].assign(s, len);
    }
  }
  return out;
}

void H5File::write_numeric(const std::string& name, hid_t type, const void* data,
                           const std::vector<uint64_t>& dims) {
  std::vector<hsize_t> h = to_hsize(dims);
  H5Handle space(H5Screate_simple(static_cast<int>(h.size()), h.data(), nullptr), H5Sclose);
  H5Handle d(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose);
  GENSAR_CHECK(d.valid(), "{}: cannot create dataset {}", path_, name);
  uint64_t count = 1;
  for (auto x : dims) count *= x;
  if (count > 0) {
    GENSAR_CHECK(H5Dwrite(d.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                 "{}: cannot write {}", path_, name);
  }
}

void H5File::write_f32(const std::string& name, const float* data, const std::vector<uint64_t>& dims) {
  write_numeric(name, H5T_NATIVE_FLOAT, data, dims);
}

void H5File::write_i32(const std::string& name, const int32_t* data,
                       const std::vector<uint64_t>& dims) {
  write_numeric(name, H5T_NATIVE_INT32, data, dims);
}

namespace {
template <typename T>
H5Array<T> read_numeric(const H5File& f, const std::string& name, hid_t dataset, hid_t mem_type) {
  H5Array<T> out;
  out.dims = f.dims(name);
  uint64_t count = 1;
  for (auto x : out.dims) count *= x;
  out.values.resize(count);
  if (count > 0) {
    GENSAR_INPUT_CHECK(
        H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()) >= 0,
        "{}: cannot read '{}' as numbers", f.path(), name);
  }
  return out;
}
}  // namespace

H5Array<float> H5File::read_f32(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle type(H5Dget_type(d.get()), H5Tclose);
  H5T_class_t cls = H5Tget_class(type.get());
  GENSAR_INPUT_CHECK(cls == H5T_FLOAT || cls == H5T_INTEGER, "{}: '{}' is not numeric", path_, name);
  return read_numeric<float>(*this, name, d.get(), H5T_NATIVE_FLOAT);
}

H5Array<int32_t> H5File::read_i32(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle type(H5Dget_type(d.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "{}: '{}' is not an integer dataset",
                     path_, name);
  return read_numeric<int32_t>(*this, name, d.get(), H5T_NATIVE_INT32);
}

H5Array<int64_t> H5File::read_i64(const std::string& name) const {
  H5Handle d = open_dataset(name);
  H5Handle type(H5Dget_type(d.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "{}: '{}' is not an integer dataset",
                     path_, name);
  return read_numeric<int64_t>(*this, name, d.get(), H5T_NATIVE_INT64);
}

void H5File::write_attr(const std::string& name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(file_.get(), name.c_str()) > 0) H5Adelete(file_.get(), name.c_str());
  H5Handle a(H5Acreate2(file_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose);
  GENSAR_CHECK(a.valid(), "{}: cannot create attribute {}", path_, name);
  const char* ptr = value.c_str();
  GENSAR_CHECK(H5Awrite(a.get(), type.get(), &ptr) >= 0, "{}: cannot write attribute {}", path_, name);
}

bool H5File::has_attr(const std::string& name) const {
  return H5Aexists(file_.get(), name.c_str()) > 0;
}

std::string H5File::read_attr(const std::string& name) const {
  GENSAR_INPUT_CHECK(has_attr(name), "{}: attribute '{}' is missing", path_, name);
  H5Handle a(H5Aopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  H5Handle file_type(H5Aget_type(a.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(file_type.get()) == H5T_STRING, "{}: attribute '{}' is not a string",
                     path_, name);
  if (H5Tis_variable_str(file_type.get()) > 0) {
    H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(file_type.get()));
    char* ptr = nullptr;
    GENSAR_INPUT_CHECK(H5Aread(a.get(), mem.get(), &ptr) >= 0, "{}: cannot read attribute '{}'", path_,
                       name);
    std::string out = ptr ? ptr : "";
    H5free_memory(ptr);
    return out;
  }
  size_t width = H5Tget_size(file_type.get());
  std::string buf(width, '\0');
  GENSAR_INPUT_CHECK(H5Aread(a.get(), file_type.get(), buf.data()) >= 0,
                     "{}: cannot read attribute '{}'", path_, name);
  return buf.substr(0, buf.find('\0'));
}

}  // namespace gensar::rqvae
