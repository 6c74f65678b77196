// A small RAII layer over the HDF5 C API for the dataset files: 1-D numeric arrays and
// offsets+bytes string columns, written contiguous and without modification times so that the same
// content gives byte-identical files (ingest is idempotent and checksummed).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data_pipeline/dataset.h"

namespace gensar::data::h5 {

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

class File {
 public:
  static File create(const std::string& path);  // truncates
  static File open(const std::string& path);    // read-only; throws InputError if unreadable
  const std::string& path() const { return path_; }

  bool exists(const std::string& name) const;
  // Parent groups of `name` ("a/b/c") are created as needed.
  void write(const std::string& name, const std::vector<int64_t>& v);
  void write(const std::string& name, const std::vector<int32_t>& v);
  void write(const std::string& name, const std::vector<uint8_t>& v);
  void write(const std::string& name, const std::vector<double>& v);
  void write(const std::string& name, const std::vector<float>& v);
  void write_strings(const std::string& group, const StringColumn& column);  // group/offsets, group/bytes

  // Fixed-size int32 datasets filled piece by piece (bounded memory for big columns).
  void create_i32(const std::string& name, size_t n);
  void write_slab(const std::string& name, size_t offset, const std::vector<int32_t>& v);

  std::vector<int64_t> read_i64(const std::string& name) const;
  std::vector<int32_t> read_i32(const std::string& name) const;
  std::vector<uint8_t> read_u8(const std::string& name) const;
  std::vector<double> read_f64(const std::string& name) const;
  std::vector<float> read_f32(const std::string& name) const;
  StringColumn read_strings(const std::string& group) const;
  int64_t length(const std::string& name) const;  // elements of a 1-D dataset

  hid_t id() const { return file_.get(); }

 private:
  void ensure_parents(const std::string& name);
  void write_raw(const std::string& name, hid_t type, const void* data, size_t n);
  void read_raw(const std::string& name, hid_t type, void* data, size_t n) const;

  std::string path_;
  Handle file_;
};

}  // namespace gensar::data::h5
