// A small RAII wrapper over the HDF5 C API: just what the identifier files need (string lists,
// float32/int32 arrays, string attributes, groups). Errors carry the file and dataset name.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gensar::rqvae {

// Owns one HDF5 handle and closes it with the right H5*close call.
class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& other) noexcept { *this = std::move(other); }
  H5Handle& operator=(H5Handle&& other) noexcept;
  ~H5Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

template <typename T>
struct H5Array {
  std::vector<T> values;
  std::vector<uint64_t> dims;
};

class H5File {
 public:
  enum class Mode { kRead, kCreate };
  H5File(const std::string& path, Mode mode);

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const;
  void create_group(const std::string& name);

  void write_strings(const std::string& name, const std::vector<std::string>& values);
  std::vector<std::string> read_strings(const std::string& name) const;
  void write_f32(const std::string& name, const float* data, const std::vector<uint64_t>& dims);
  H5Array<float> read_f32(const std::string& name) const;
  void write_i32(const std::string& name, const int32_t* data, const std::vector<uint64_t>& dims);
  H5Array<int32_t> read_i32(const std::string& name) const;
  // Integer datasets of any width, read as int64 (item keys are sometimes stored as integers).
  H5Array<int64_t> read_i64(const std::string& name) const;
  // The dataset's shape and whether its element type is a string / integer class.
  std::vector<uint64_t> dims(const std::string& name) const;
  bool is_string(const std::string& name) const;
  bool is_integer(const std::string& name) const;

  // String attributes on the file root.
  void write_attr(const std::string& name, const std::string& value);
  std::string read_attr(const std::string& name) const;
  bool has_attr(const std::string& name) const;

 private:
  H5Handle open_dataset(const std::string& name) const;
  void write_numeric(const std::string& name, hid_t type, const void* data,
                     const std::vector<uint64_t>& dims);

  std::string path_;
  H5Handle file_;
};

}  // namespace gensar::rqvae
