#include "data_pipeline/h5.h"

#include "core/common/check.h"

namespace gensar::data::h5 {

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

namespace {

// HDF5 prints its own error stack on failure; we report through exceptions instead.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5 silence_hdf5;

// Creation properties without object times: identical content must give identical bytes.
Handle untimed(hid_t cls) {
  Handle plist(H5Pcreate(cls), H5Pclose);
  H5Pset_obj_track_times(plist.get(), false);
  return plist;
}

}  // namespace

File File::create(const std::string& path) {
  File f;
  f.path_ = path;
  f.file_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  GENSAR_INPUT_CHECK(f.file_.valid(), "{}: cannot create HDF5 file", path);
  return f;
}

File File::open(const std::string& path) {
  File f;
  f.path_ = path;
  f.file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  GENSAR_INPUT_CHECK(f.file_.valid(), "{}: cannot open as HDF5 file", path);
  return f;
}

bool File::exists(const std::string& name) const {
  // H5Lexists needs every parent to exist: walk the path.
  size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    std::string prefix = name.substr(0, pos);
    if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

void File::ensure_parents(const std::string& name) {
  size_t pos = 0;
  while ((pos = name.find('/', pos + 1)) != std::string::npos) {
    std::string prefix = name.substr(0, pos);
    if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) > 0) continue;
    Handle gcpl = untimed(H5P_GROUP_CREATE);
    Handle g(H5Gcreate2(file_.get(), prefix.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
             H5Gclose);
    GENSAR_CHECK(g.valid(), "{}: cannot create group {}", path_, prefix);
  }
}

void File::write_raw(const std::string& name, hid_t type, const void* data, size_t n) {
  ensure_parents(name);
  hsize_t dims[1] = {static_cast<hsize_t>(n)};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(),
                       H5P_DEFAULT),
            H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: cannot create dataset {}", path_, name);
  if (n > 0) {
    GENSAR_CHECK(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                 "{}: cannot write dataset {} (disk full?)", path_, name);
  }
}

void File::create_i32(const std::string& name, size_t n) {
  ensure_parents(name);
  hsize_t dims[1] = {static_cast<hsize_t>(n)};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle dcpl = untimed(H5P_DATASET_CREATE);
  // Allocate at creation so the file layout does not depend on how the slabs arrive.
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), H5T_NATIVE_INT32, space.get(), H5P_DEFAULT,
                       dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: cannot create dataset {}", path_, name);
}

void File::write_slab(const std::string& name, size_t offset, const std::vector<int32_t>& v) {
  if (v.empty()) return;
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_CHECK(ds.valid(), "{}: missing dataset {}", path_, name);
  Handle file_space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t start[1] = {static_cast<hsize_t>(offset)}, count[1] = {static_cast<hsize_t>(v.size())};
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mem_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  GENSAR_CHECK(H5Dwrite(ds.get(), H5T_NATIVE_INT32, mem_space.get(), file_space.get(), H5P_DEFAULT,
                        v.data()) >= 0,
               "{}: cannot write {} values at {} of {} (disk full?)", path_, v.size(), offset, name);
}

int64_t File::length(const std::string& name) const {
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(ds.valid(), "{}: missing dataset '{}'", path_, name);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  GENSAR_INPUT_CHECK(H5Sget_simple_extent_ndims(space.get()) == 1, "{}: dataset '{}' is not 1-D",
                     path_, name);
  hsize_t dims[1];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<int64_t>(dims[0]);
}

void File::read_raw(const std::string& name, hid_t type, void* data, size_t n) const {
  if (n == 0) return;
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  GENSAR_INPUT_CHECK(ds.valid(), "{}: missing dataset '{}'", path_, name);
  GENSAR_INPUT_CHECK(H5Dread(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                     "{}: cannot read dataset '{}'", path_, name);
}

#define GENSAR_H5_TYPED(T, H5T, suffix)                                         \
  void File::write(const std::string& name, const std::vector<T>& v) {          \
    write_raw(name, H5T, v.data(), v.size());                                   \
  }                                                                             \
  std::vector<T> File::read_##suffix(const std::string& name) const {           \
    std::vector<T> v(static_cast<size_t>(length(name)));                        \
    read_raw(name, H5T, v.data(), v.size());                                    \
    return v;                                                                   \
  }

GENSAR_H5_TYPED(int64_t, H5T_NATIVE_INT64, i64)
GENSAR_H5_TYPED(int32_t, H5T_NATIVE_INT32, i32)
GENSAR_H5_TYPED(uint8_t, H5T_NATIVE_UINT8, u8)
GENSAR_H5_TYPED(double, H5T_NATIVE_DOUBLE, f64)
GENSAR_H5_TYPED(float, H5T_NATIVE_FLOAT, f32)
#undef GENSAR_H5_TYPED

void File::write_strings(const std::string& group, const StringColumn& column) {
  write(group + "/offsets", column.offsets);
  write_raw(group + "/bytes", H5T_NATIVE_UINT8, column.bytes.data(), column.bytes.size());
}

StringColumn File::read_strings(const std::string& group) const {
  StringColumn c;
  c.offsets = read_i64(group + "/offsets");
  GENSAR_INPUT_CHECK(!c.offsets.empty() && c.offsets[0] == 0, "{}: bad offsets in '{}'", path_,
                     group);
  int64_t n = length(group + "/bytes");
  GENSAR_INPUT_CHECK(n == c.offsets.back(), "{}: '{}' has {} bytes, offsets say {}", path_, group,
                     n, c.offsets.back());
  c.bytes.resize(static_cast<size_t>(n));
  read_raw(group + "/bytes", H5T_NATIVE_UINT8, c.bytes.data(), c.bytes.size());
  return c;
}

}  // namespace gensar::data::h5
