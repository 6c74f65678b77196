// The one HDF5 layer of gensar: RAII over the HDF5 C API for every file the project reads or writes
// (dataset columns, evaluation candidates, identifiers, embedding tables).
//
// Writes are reproducible: datasets and groups carry no modification times, so identical content
// gives identical bytes (ingest is idempotent and checksums its files). Numbers are stored in the
// machine's native layout; strings as variable-length UTF-8 (what h5py writes and reads back as
// str); string columns of the dataset as offsets+bytes (StringColumn). Readers also accept what
// other tools write: fixed-length strings, integer item keys, float64 matrices.
//
// Errors name the file and the dataset: InputError for a file that is missing or malformed,
// gensar::Error for a failed write (disk full).
//
// <hdf5.h> stays out of this header: only h5.cpp talks to the C API (ids are int64_t, the hid_t of
// HDF5 >= 1.10, checked there).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "core/common/string_column.h"

namespace gensar::h5 {

// Owns one HDF5 id (hid_t) and closes it with the matching H5*close.
class Handle {
 public:
  using Id = int64_t;
  using Closer = int (*)(Id);
  Handle() = default;
  Handle(Id id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle();
  Id get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  Id id_ = -1;
  Closer closer_ = nullptr;
};

// A dataset of any rank read into memory, row-major.
template <typename T>
struct Array {
  std::vector<T> values;
  std::vector<uint64_t> dims;
};

// The element types the layer stores, each in the machine's native layout.
enum class Type { kInt32, kInt64, kUInt8, kFloat32, kFloat64 };
template <typename T>
constexpr Type type_of() {
  if constexpr (std::is_same_v<T, int32_t>) return Type::kInt32;
  else if constexpr (std::is_same_v<T, int64_t>) return Type::kInt64;
  else if constexpr (std::is_same_v<T, uint8_t>) return Type::kUInt8;
  else if constexpr (std::is_same_v<T, float>) return Type::kFloat32;
  else {
    static_assert(std::is_same_v<T, double>, "h5: int32_t, int64_t, uint8_t, float or double");
    return Type::kFloat64;
  }
}

class File {
 public:
  static File create(const std::string& path);  // truncates
  static File open(const std::string& path);    // read-only; InputError if missing or not HDF5
  const std::string& path() const { return path_; }

  // "a/b/c" exists (every parent too).
  bool exists(const std::string& name) const;
  bool is_group(const std::string& name) const;
  bool is_string(const std::string& name) const;   // a string dataset
  bool is_integer(const std::string& name) const;  // an integer dataset
  std::vector<uint64_t> dims(const std::string& name) const;
  int64_t length(const std::string& name) const;  // elements of a 1-D dataset

  // Parent groups of `name` are created as needed.
  template <typename T>
  void write(const std::string& name, const std::vector<T>& values) {
    write(name, values.data(), {values.size()});
  }
  template <typename T>
  void write(const std::string& name, const T* data, const std::vector<uint64_t>& dims) {
    write_raw(name, type_of<T>(), data, dims);
  }
  void write_strings(const std::string& name, const std::vector<std::string>& values);
  void write_column(const std::string& group, const StringColumn& column);  // group/offsets, group/bytes
  void create_group(const std::string& name);

  // A fixed-size 1-D dataset filled piece by piece (bounded memory for big columns).
  template <typename T>
  void create_fixed(const std::string& name, size_t n) {
    create_fixed_raw(name, type_of<T>(), n);
  }
  template <typename T>
  void write_slab(const std::string& name, size_t offset, const std::vector<T>& values) {
    write_slab_raw(name, type_of<T>(), offset, values.data(), values.size());
  }

  // 1-D datasets; any stored numeric type converts to T.
  template <typename T>
  std::vector<T> read(const std::string& name) const {
    std::vector<T> v(static_cast<size_t>(length(name)));
    read_raw(name, type_of<T>(), v.data(), v.size());
    return v;
  }
  // Any rank; InputError unless the dataset holds numbers (integers only, for integral T).
  template <typename T>
  Array<T> read_array(const std::string& name) const {
    Array<T> a;
    a.dims = numeric_dims(name, std::is_integral<T>::value);
    uint64_t count = 1;
    for (uint64_t d : a.dims) count *= d;
    a.values.resize(count);
    read_raw(name, type_of<T>(), a.values.data(), a.values.size());
    return a;
  }
  // A 1-D string dataset, variable or fixed length.
  std::vector<std::string> read_strings(const std::string& name) const;
  StringColumn read_column(const std::string& group) const;
  // Item keys: an offsets+bytes group, a 1-D string dataset, or a 1-D integer dataset (keys as
  // decimal text).
  std::vector<std::string> read_keys(const std::string& name) const;

  // String attributes on the file root. write_attr replaces an existing one.
  void write_attr(const std::string& name, const std::string& value);
  bool has_attr(const std::string& name) const;
  std::string read_attr(const std::string& name) const;  // InputError if absent or not a string
  std::string read_attr_or(const std::string& name, const std::string& fallback) const;
  // Every string attribute on the root (others, e.g. numbers h5py wrote, are skipped).
  std::map<std::string, std::string> string_attrs() const;

 private:
  Handle open_dataset(const std::string& name) const;
  void ensure_parents(const std::string& name);
  std::vector<uint64_t> numeric_dims(const std::string& name, bool integers_only) const;
  void write_raw(const std::string& name, Type type, const void* data, const std::vector<uint64_t>& dims);
  void read_raw(const std::string& name, Type type, void* data, size_t n) const;
  void create_fixed_raw(const std::string& name, Type type, size_t n);
  void write_slab_raw(const std::string& name, Type type, size_t offset, const void* data, size_t n);

  friend class AppendColumn;
  std::string path_;
  Handle file_;
};

// A 1-D chunked, extendable dataset that values are appended to, so a column of unknown final
// length is written in bounded memory. `expected` sizes the chunks.
class AppendColumn {
 public:
  AppendColumn(File& file, const std::string& name, Type type, uint64_t expected);
  template <typename T>
  void append(const std::vector<T>& values) {
    append_raw(type_of<T>(), values.data(), values.size());
  }
  uint64_t size() const { return size_; }

 private:
  void append_raw(Type type, const void* data, size_t n);

  std::string path_, name_;
  Handle dataset_;
  uint64_t size_ = 0;
};

}  // namespace gensar::h5
