// A cache of freed large CPU tensor blocks, installed as LibTorch's CPU allocator.
//
// glibc serves blocks above its mmap threshold (at most 32 MB, core/common/allocator.h) with a fresh
// mmap and returns them to the kernel on free. A TIGER-size step at batch 64 allocates and frees
// dozens of 44 MB tensors ([64, 6, 169, 169] attention probabilities, [64, 169, 1024] FFN units),
// so every step re-faults them page by page as zero-filled memory: on a VM where a minor fault is
// expensive that is a quarter of the step in the kernel (docs/performance.md, "Allocator").
// This cache keeps freed blocks of 1 MiB and more, keyed by a size class (eight classes per power
// of two, so at most 12.5% slack), and hands them back to the next request of that class; the
// least recently freed blocks go back to the system once the cache holds more than its budget.
#pragma once

#include <c10/core/Allocator.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>

namespace gensar {

class TensorBlockCache final : public c10::Allocator {
 public:
  static constexpr size_t kMinBlock = size_t{1} << 20;  // below this, glibc's heap is cheap enough

  explicit TensorBlockCache(size_t budget_bytes);
  ~TensorBlockCache() override;

  c10::DataPtr allocate(size_t n) const override;
  c10::DeleterFnPtr raw_deleter() const override;

  struct Stats {
    uint64_t hits = 0;      // requests served from the cache
    uint64_t misses = 0;    // requests that allocated a new block
    size_t cached_bytes = 0;  // freed bytes held now
    size_t live_bytes = 0;    // bytes handed out and not yet freed (cached sizes only)
  };
  Stats stats() const;

  // Returns every cached block to the system.
  void release_cached();

  // The size of block that serves a request of n >= kMinBlock bytes.
  static size_t size_class(size_t n);

 private:
  struct Cached {
    void* ptr;
    size_t size;
    std::multimap<size_t, std::list<Cached>::iterator>::iterator by_size;
  };
  // Every block starts with a header naming its cache and size; the tensor's data follows it, so
  // the deleter (a plain function pointer, DataPtr's contract) finds both from the data pointer.
  struct Header {
    const TensorBlockCache* cache;
    size_t size;
  };
  static constexpr size_t kHeaderBytes = 64;  // keeps the data at c10's 64-byte alignment
  void* take(size_t size) const;
  void give_back(void* block, size_t size) const;
  void evict_oldest() const;
  static void delete_block(void* ptr);

  const size_t budget_;
  mutable std::mutex mu_;
  mutable std::list<Cached> lru_;  // most recently freed first
  mutable std::multimap<size_t, std::list<Cached>::iterator> by_size_;
  mutable Stats stats_;
};

// The heap settings gensar's numeric verbs run with: glibc's heap keeps freed memory
// (retain_freed_memory) and LibTorch's CPU tensors above 1 MiB come from a TensorBlockCache of
// GENSAR_TENSOR_CACHE_MB (default 4096) MiB; 0 keeps LibTorch's own allocator. GENSAR_MALLOC=default
// leaves both at their defaults (for A/B measurements and memory-tight hosts). Returns the mode applied: "retain" or "default".
// Call once, before the first large allocation.
std::string configure_tensor_heap();

// The installed cache, or nullptr when configure_tensor_heap() left the defaults.
const TensorBlockCache* installed_tensor_cache();

}  // namespace gensar
