#include "core/eval/record_exchange.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/common/check.h"

namespace gensar::eval {
namespace {

class ByteWriter {
 public:
  template <typename T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.append(p, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<int64_t>(static_cast<int64_t>(s.size()));
    bytes_.append(s);
  }
  template <typename T>
  void put_vector(const std::vector<T>& v) {
    put<int64_t>(static_cast<int64_t>(v.size()));
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  template <typename T>
  T get() {
    GENSAR_CHECK(pos_ + sizeof(T) <= size_, "record bytes truncated at {}", pos_);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = static_cast<size_t>(get<int64_t>());
    GENSAR_CHECK(pos_ + n <= size_, "record bytes truncated at {}", pos_);
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  std::vector<T> get_vector() {
    const auto n = static_cast<size_t>(get<int64_t>());
    GENSAR_CHECK(pos_ + n * sizeof(T) <= size_, "record bytes truncated at {}", pos_);
    std::vector<T> v(n);
    std::memcpy(v.data(), data_ + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

void serialize(const OrderedRecord& r, ByteWriter* w) {
  for (int64_t o : r.order) w->put<int64_t>(o);
  w->put_string(r.record.case_id);
  w->put_string(r.record.protocol);
  w->put_string(r.record.task);
  w->put<int64_t>(r.record.target);
  w->put<int64_t>(r.record.rank);
  w->put_vector(r.record.items);
  w->put_vector(r.record.scores);
}

OrderedRecord deserialize(ByteReader* r) {
  OrderedRecord out;
  for (int64_t& o : out.order) o = r->get<int64_t>();
  out.record.case_id = r->get_string();
  out.record.protocol = r->get_string();
  out.record.task = r->get_string();
  out.record.target = r->get<int64_t>();
  out.record.rank = r->get<int64_t>();
  out.record.items = r->get_vector<int64_t>();
  out.record.scores = r->get_vector<double>();
  return out;
}

// Every rank's bytes, concatenated in rank order, on every rank.
std::string gather_bytes(dist::Communicator& comm, const std::string& mine) {
  torch::Tensor size = torch::full({1}, static_cast<int64_t>(mine.size()), torch::kInt64);
  torch::Tensor sizes = comm.all_gather(size);
  const int64_t max_size = std::max<int64_t>(1, sizes.max().item<int64_t>());
  torch::Tensor padded = torch::zeros({max_size}, torch::kByte);
  std::memcpy(padded.data_ptr<uint8_t>(), mine.data(), mine.size());
  torch::Tensor all = comm.all_gather(padded).contiguous();
  std::string out;
  const char* base = reinterpret_cast<const char*>(all.data_ptr<uint8_t>());
  for (int r = 0; r < comm.size(); ++r)
    out.append(base + r * max_size, static_cast<size_t>(sizes[r].item<int64_t>()));
  return out;
}

}  // namespace

std::vector<OrderedRecord> gather_records(dist::Communicator& comm,
                                          const std::vector<OrderedRecord>& mine) {
  ByteWriter w;
  for (const auto& r : mine) serialize(r, &w);
  const std::string bytes = gather_bytes(comm, w.bytes());
  std::vector<OrderedRecord> all;
  if (comm.rank() == 0) {
    ByteReader reader(bytes.data(), bytes.size());
    while (!reader.done()) all.push_back(deserialize(&reader));
  }
  return all;
}

}  // namespace gensar::eval
