// An insert-only map from strings to dense ids (0, 1, 2, ... in insertion order) whose keys stay
// in the caller's own storage (the item list, a string column). Ingest looks one or two strings up
// per event; with std::unordered_map<std::string, int32_t> each lookup chased a bucket, a node and
// often a heap string, and those cache misses were the largest cost of ingest. Here the table is
// one flat array of 32-byte slots probed linearly, and a slot holds a copy of a short key (item ids
// and most queries are short), so a lookup usually costs one cache line.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace gensar::data {

// KeyAt: callable int32_t id -> std::string_view, the key stored under that id (read only for
// keys too long to be copied into their slot, and when the table grows).
template <class KeyAt>
class StringIndex {
 public:
  explicit StringIndex(KeyAt key_at) : key_at_(std::move(key_at)) { slots_.resize(kInitialSlots); }

  // The id of `key`, or -1.
  int32_t find(std::string_view key) const {
    const uint64_t h = hash(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t s = h & mask(); ; s = (s + 1) & mask()) {
      const Slot& slot = slots_[s];
      if (slot.id < 0) return -1;
      if (slot.tag == tag && matches(slot, key)) return slot.id;
    }
  }

  // Records that `key` has id `id`; the caller checked with find() that it is new.
  void insert(std::string_view key, int32_t id) {
    // Grow at half load: probe runs stay short.
    if (2 * (size_ + 1) > slots_.size()) rehash(2 * slots_.size());
    place(key, id);
    ++size_;
  }

  size_t size() const { return size_; }

 private:
  static constexpr size_t kInline = 23;          // longest key copied into its slot
  static constexpr uint8_t kLong = 0xff;         // length mark of a key kept only by the caller
  static constexpr size_t kInitialSlots = 1024;  // a power of two
  struct Slot {
    uint32_t tag = 0;  // high half of the key's hash
    int32_t id = -1;   // -1: empty
    uint8_t len = 0;   // key length, or kLong
    char key[kInline];
  };
  static_assert(sizeof(Slot) == 32, "two slots per cache line");

  static uint64_t hash(std::string_view key) { return std::hash<std::string_view>()(key); }
  size_t mask() const { return slots_.size() - 1; }

  bool matches(const Slot& slot, std::string_view key) const {
    if (slot.len == kLong) return key.size() > kInline && key_at_(slot.id) == key;
    return slot.len == key.size() && std::memcmp(slot.key, key.data(), key.size()) == 0;
  }

  void place(std::string_view key, int32_t id) {
    const uint64_t h = hash(key);
    size_t s = h & mask();
    while (slots_[s].id >= 0) s = (s + 1) & mask();
    Slot& slot = slots_[s];
    slot.tag = static_cast<uint32_t>(h >> 32);
    slot.id = id;
    if (key.size() <= kInline) {
      slot.len = static_cast<uint8_t>(key.size());
      std::memcpy(slot.key, key.data(), key.size());
    } else {
      slot.len = kLong;
    }
  }

  void rehash(size_t slots) {
    std::vector<Slot> old(slots);
    old.swap(slots_);
    for (const Slot& slot : old)
      if (slot.id >= 0) place(slot.len == kLong ? key_at_(slot.id) : std::string_view(slot.key, slot.len), slot.id);
  }

  KeyAt key_at_;
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace gensar::data
