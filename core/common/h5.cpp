#include "core/common/h5.h"

#include <hdf5.h>

#include <algorithm>
#include <mutex>

#include "core/common/check.h"

namespace gensar::h5 {

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ >= 0 && closer_) closer_(id_);
}

static_assert(std::is_same_v<hid_t, Handle::Id> && std::is_same_v<herr_t, int>,
              "h5.h declares HDF5 ids as int64_t (HDF5 >= 1.10)");

namespace {

hid_t native(Type type) {
  switch (type) {
    case Type::kInt32: return H5T_NATIVE_INT32;
    case Type::kInt64: return H5T_NATIVE_INT64;
    case Type::kUInt8: return H5T_NATIVE_UINT8;
    case Type::kFloat32: return H5T_NATIVE_FLOAT;
    case Type::kFloat64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_UINT8;  // unreachable
}

// HDF5 prints its own error stack to stderr by default; our exceptions say what failed instead.
void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

// Creation properties without object times: identical content must give identical bytes.
Handle untimed(hid_t cls) {
  Handle plist(H5Pcreate(cls), H5Pclose);
  H5Pset_obj_track_times(plist.get(), false);
  return plist;
}

Handle vlen_utf8() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

uint64_t element_count(const std::vector<uint64_t>& dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

// Fixed-length strings: each `width` bytes, NUL-padded or full.
std::vector<std::string> split_fixed(const std::vector<char>& buffer, size_t n, size_t width) {
  std::vector<std::string> out(n);
  for (size_t i = 0; i < n; ++i) {
    const char* s = buffer.data() + i * width;
    size_t len = 0;
    while (len < width && s[len] != '\0') ++len;
    out[i].assign(s, len);
  }
  return out;
}

}  // namespace

File File::create(const std::string& path) {
  silence_hdf5_errors();
  File f;
  f.path_ = path;
  f.file_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  GENSAR_INPUT_CHECK(f.file_.valid(), "{}: cannot create HDF5 file", path);
  return f;
}

File File::open(const std::string& path) {
  silence_hdf5_errors();
  File f;
  f.path_ = path;
  f.file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  GENSAR_INPUT_CHECK(f.file_.valid(), "{}: cannot open as HDF5 file (missing or not HDF5?)", path);
  return f;
}

bool File::exists(const std::string& name) const {
  // H5Lexists fails on a missing intermediate group, so walk the path one component at a time.
  size_t pos = 0;
  while (true) {
    const size_t next = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (next == std::string::npos) return true;
    pos = next;
  }
}

bool File::is_group(const std::string& name) const {
  if (!exists(name)) return false;
  Handle object(H5Oopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
  return object.valid() && H5Iget_type(object.get()) == H5I_GROUP;
}

Handle File::open_dataset(const std::string& name) const {
  GENSAR_INPUT_CHECK(exists(name), "{}: missing dataset '{}'", path_, name);
  Handle d(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(d.valid(), "{}: '{}' is not a dataset", path_, name);
  return d;
}

bool File::is_string(const std::string& name) const {
  Handle d = open_dataset(name);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  return H5Tget_class(type.get()) == H5T_STRING;
}

bool File::is_integer(const std::string& name) const {
  Handle d = open_dataset(name);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER;
}

std::vector<uint64_t> File::dims(const std::string& name) const {
  Handle d = open_dataset(name);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  GENSAR_INPUT_CHECK(rank >= 0, "{}: cannot read the shape of '{}'", path_, name);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<uint64_t>(dims.begin(), dims.end());
}

int64_t File::length(const std::string& name) const {
  const std::vector<uint64_t> shape = dims(name);
  GENSAR_INPUT_CHECK(shape.size() == 1, "{}: dataset '{}' is not 1-D (has {} dimensions)", path_, name,
                     shape.size());
  return static_cast<int64_t>(shape[0]);
}

std::vector<uint64_t> File::numeric_dims(const std::string& name, bool integers_only) const {
  Handle d = open_dataset(name);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (integers_only) {
    GENSAR_INPUT_CHECK(cls == H5T_INTEGER, "{}: '{}' is not an integer dataset", path_, name);
  } else {
    GENSAR_INPUT_CHECK(cls == H5T_FLOAT || cls == H5T_INTEGER, "{}: '{}' is not numeric", path_, name);
  }
  return dims(name);
}

void File::create_group(const std::string& name) {
  if (exists(name)) return;
  ensure_parents(name);
  Handle gcpl = untimed(H5P_GROUP_CREATE);
  Handle g(H5Gcreate2(file_.get(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  GENSAR_CHECK(g.valid(), "{}: cannot create group {}", path_, name);
}

void File::ensure_parents(const std::string& name) {
  size_t pos = 0;
  while ((pos = name.find('/', pos + 1)) != std::string::npos) {
    const std::string prefix = name.substr(0, pos);
    if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) > 0) continue;
    Handle gcpl = untimed(H5P_GROUP_CREATE);
    Handle g(H5Gcreate2(file_.get(), prefix.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
    GENSAR_CHECK(g.valid(), "{}: cannot create group {}", path_, prefix);
  }
}

void File::write_raw(const std::string& name, Type element, const void* data,
                     const std::vector<uint64_t>& dims) {
  ensure_parents(name);
  const hid_t type = native(element);
  const std::vector<hsize_t> h(dims.begin(), dims.end());
  Handle space(H5Screate_simple(static_cast<int>(h.size()), h.data(), nullptr), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: cannot create dataset {}", path_, name);
  if (element_count(dims) > 0) {
    GENSAR_CHECK(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                 "{}: cannot write dataset {} (disk full?)", path_, name);
  }
}

void File::read_raw(const std::string& name, Type element, void* data, size_t n) const {
  if (n == 0) return;
  Handle ds = open_dataset(name);
  GENSAR_INPUT_CHECK(H5Dread(ds.get(), native(element), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                     "{}: cannot read dataset '{}'", path_, name);
}

void File::create_fixed_raw(const std::string& name, Type element, size_t n) {
  const hid_t type = native(element);
  ensure_parents(name);
  hsize_t dims[1] = {static_cast<hsize_t>(n)};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  // Allocate at creation so the file layout does not depend on how the slabs arrive.
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: cannot create dataset {}", path_, name);
}

void File::write_slab_raw(const std::string& name, Type element, size_t offset, const void* data, size_t n) {
  if (n == 0) return;
  const hid_t type = native(element);
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: missing dataset {}", path_, name);
  Handle file_space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t start[1] = {static_cast<hsize_t>(offset)}, count[1] = {static_cast<hsize_t>(n)};
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mem_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  GENSAR_CHECK(H5Dwrite(ds.get(), type, mem_space.get(), file_space.get(), H5P_DEFAULT, data) >= 0,
               "{}: cannot write {} values at {} of {} (disk full?)", path_, n, offset, name);
}

void File::write_strings(const std::string& name, const std::vector<std::string>& values) {
  ensure_parents(name);
  Handle type = vlen_utf8();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  Handle d(H5Dcreate2(file_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
           H5Dclose);
  GENSAR_CHECK(d.valid(), "{}: cannot create dataset {}", path_, name);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (n > 0) {
    GENSAR_CHECK(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) >= 0,
                 "{}: cannot write dataset {} (disk full?)", path_, name);
  }
}

std::vector<std::string> File::read_strings(const std::string& name) const {
  Handle d = open_dataset(name);
  Handle file_type(H5Dget_type(d.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(file_type.get()) == H5T_STRING, "{}: '{}' is not a string dataset", path_,
                     name);
  const size_t n = static_cast<size_t>(length(name));
  if (n == 0) return {};
  if (H5Tis_variable_str(file_type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(file_type.get()));
    std::vector<char*> pointers(n, nullptr);
    GENSAR_INPUT_CHECK(H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) >= 0,
                       "{}: cannot read strings '{}'", path_, name);
    std::vector<std::string> out;
    out.reserve(n);
    for (char* p : pointers) out.emplace_back(p ? p : "");
    Handle space(H5Dget_space(d.get()), H5Sclose);
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, pointers.data());
    return out;
  }
  const size_t width = H5Tget_size(file_type.get());
  std::vector<char> buffer(n * width);
  GENSAR_INPUT_CHECK(H5Dread(d.get(), file_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) >= 0,
                     "{}: cannot read strings '{}'", path_, name);
  return split_fixed(buffer, n, width);
}

void File::write_column(const std::string& group, const StringColumn& column) {
  write(group + "/offsets", column.offsets);
  write(group + "/bytes", reinterpret_cast<const uint8_t*>(column.bytes.data()), {column.bytes.size()});
}

StringColumn File::read_column(const std::string& group) const {
  StringColumn c;
  c.offsets = read<int64_t>(group + "/offsets");
  GENSAR_INPUT_CHECK(!c.offsets.empty() && c.offsets[0] == 0, "{}: bad offsets in '{}'", path_, group);
  const int64_t n = length(group + "/bytes");
  GENSAR_INPUT_CHECK(n == c.offsets.back(), "{}: '{}' has {} bytes, offsets say {}", path_, group, n,
                     c.offsets.back());
  c.bytes.resize(static_cast<size_t>(n));
  read_raw(group + "/bytes", Type::kUInt8, c.bytes.data(), c.bytes.size());
  return c;
}

std::vector<std::string> File::read_keys(const std::string& name) const {
  GENSAR_INPUT_CHECK(exists(name), "{}: no item keys '{}' (expected 1-D strings or integers)", path_, name);
  std::vector<std::string> keys;
  if (is_group(name)) {
    const StringColumn column = read_column(name);
    for (size_t i = 0; i < column.size(); ++i) keys.emplace_back(column.get(i));
    return keys;
  }
  if (is_string(name)) return read_strings(name);
  GENSAR_INPUT_CHECK(is_integer(name), "{}: item keys '{}' are neither strings nor integers", path_, name);
  for (int64_t id : read<int64_t>(name)) keys.push_back(std::to_string(id));
  return keys;
}

void File::write_attr(const std::string& name, const std::string& value) {
  Handle type = vlen_utf8();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(file_.get(), name.c_str()) > 0) H5Adelete(file_.get(), name.c_str());
  Handle a(H5Acreate2(file_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  GENSAR_CHECK(a.valid(), "{}: cannot create attribute {}", path_, name);
  const char* pointer = value.c_str();
  GENSAR_CHECK(H5Awrite(a.get(), type.get(), &pointer) >= 0, "{}: cannot write attribute {}", path_, name);
}

bool File::has_attr(const std::string& name) const {
  return H5Aexists(file_.get(), name.c_str()) > 0;
}

std::string File::read_attr(const std::string& name) const {
  GENSAR_INPUT_CHECK(has_attr(name), "{}: attribute '{}' is missing", path_, name);
  Handle a(H5Aopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle file_type(H5Aget_type(a.get()), H5Tclose);
  GENSAR_INPUT_CHECK(H5Tget_class(file_type.get()) == H5T_STRING, "{}: attribute '{}' is not a string", path_,
                     name);
  if (H5Tis_variable_str(file_type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(file_type.get()));
    char* pointer = nullptr;
    GENSAR_INPUT_CHECK(H5Aread(a.get(), mem.get(), &pointer) >= 0, "{}: cannot read attribute '{}'", path_,
                       name);
    std::string out = pointer ? pointer : "";
    H5free_memory(pointer);
    return out;
  }
  std::vector<char> buffer(H5Tget_size(file_type.get()));
  GENSAR_INPUT_CHECK(H5Aread(a.get(), file_type.get(), buffer.data()) >= 0, "{}: cannot read attribute '{}'",
                     path_, name);
  return split_fixed(buffer, 1, buffer.size())[0];
}

std::string File::read_attr_or(const std::string& name, const std::string& fallback) const {
  return has_attr(name) ? read_attr(name) : fallback;
}

std::map<std::string, std::string> File::string_attrs() const {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  GENSAR_INPUT_CHECK(H5Aiterate2(file_.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names) >= 0,
                     "{}: cannot list the attributes", path_);
  std::map<std::string, std::string> out;
  for (const std::string& name : names) {
    Handle a(H5Aopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
    Handle type(H5Aget_type(a.get()), H5Tclose);
    if (H5Tget_class(type.get()) == H5T_STRING) out[name] = read_attr(name);
  }
  return out;
}

AppendColumn::AppendColumn(File& file, const std::string& name, Type element, uint64_t expected)
    : path_(file.path()), name_(name) {
  const size_t slash = name.rfind('/');
  if (slash != std::string::npos && slash > 0) file.create_group(name.substr(0, slash));
  hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
  Handle space(H5Screate_simple(1, dims, maxdims), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  hsize_t chunk[1] = {std::max<hsize_t>(1, std::min<hsize_t>(expected, 1 << 16))};
  H5Pset_chunk(dcpl.get(), 1, chunk);
  dataset_ = Handle(H5Dcreate2(file.file_.get(), name.c_str(), native(element), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    H5Dclose);
  GENSAR_CHECK(dataset_.valid(), "{}: cannot create dataset {}", path_, name);
}

void AppendColumn::append_raw(Type element, const void* data, size_t n) {
  if (n == 0) return;
  hsize_t start[1] = {size_}, count[1] = {n}, new_size[1] = {size_ + n};
  GENSAR_CHECK(H5Dset_extent(dataset_.get(), new_size) >= 0, "{}: cannot extend dataset {}", path_, name_);
  Handle file_space(H5Dget_space(dataset_.get()), H5Sclose);
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle memory_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  GENSAR_CHECK(H5Dwrite(dataset_.get(), native(element), memory_space.get(), file_space.get(), H5P_DEFAULT, data) >= 0,
               "{}: cannot write dataset {} (disk full?)", path_, name_);
  size_ += n;
}

}  // namespace gensar::h5
