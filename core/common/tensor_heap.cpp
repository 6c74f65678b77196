#include "core/common/tensor_heap.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>

#include <cstdlib>
#include <new>

#include "core/common/allocator.h"
#include "core/common/check.h"

namespace gensar {
namespace {

const TensorBlockCache* g_installed = nullptr;

}  // namespace

static_assert(sizeof(void*) + sizeof(size_t) <= 64 && 64 % c10::gAlignment == 0,
              "the block header must keep the data at c10's alignment");

TensorBlockCache::TensorBlockCache(size_t budget_bytes) : budget_(budget_bytes) {}

TensorBlockCache::~TensorBlockCache() { release_cached(); }

size_t TensorBlockCache::size_class(size_t n) {
  const size_t top = size_t{1} << (63 - __builtin_clzll(n));  // highest power of two <= n
  const size_t step = top / 8;
  return (n + step - 1) / step * step;
}

c10::DataPtr TensorBlockCache::allocate(size_t n) const {
  if (n < kMinBlock) return c10::GetDefaultCPUAllocator()->allocate(n);
  const size_t size = size_class(n);
  void* block = take(size);
  if (!block) {
    if (posix_memalign(&block, c10::gAlignment, kHeaderBytes + size) != 0) throw std::bad_alloc();
    *static_cast<Header*>(block) = {this, size};
  }
  void* data = static_cast<char*>(block) + kHeaderBytes;
  return {data, data, &TensorBlockCache::delete_block, c10::Device(c10::DeviceType::CPU)};
}

c10::DeleterFnPtr TensorBlockCache::raw_deleter() const { return &TensorBlockCache::delete_block; }

void* TensorBlockCache::take(size_t size) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_size_.find(size);
  if (it == by_size_.end()) {
    ++stats_.misses;
    stats_.live_bytes += size;
    return nullptr;
  }
  const auto entry = it->second;
  void* block = entry->ptr;
  by_size_.erase(it);
  lru_.erase(entry);
  ++stats_.hits;
  stats_.cached_bytes -= size;
  stats_.live_bytes += size;
  return block;
}

void TensorBlockCache::give_back(void* block, size_t size) const {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.live_bytes -= size;
  if (size > budget_) {
    std::free(block);
    return;
  }
  lru_.push_front({block, size, {}});
  lru_.front().by_size = by_size_.emplace(size, lru_.begin());
  stats_.cached_bytes += size;
  while (stats_.cached_bytes > budget_) evict_oldest();
}

void TensorBlockCache::evict_oldest() const {
  Cached& oldest = lru_.back();
  std::free(oldest.ptr);
  stats_.cached_bytes -= oldest.size;
  by_size_.erase(oldest.by_size);
  lru_.pop_back();
}

void TensorBlockCache::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  while (!lru_.empty()) evict_oldest();
}

TensorBlockCache::Stats TensorBlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void TensorBlockCache::delete_block(void* data) {
  if (!data) return;
  void* block = static_cast<char*>(data) - kHeaderBytes;
  const Header header = *static_cast<Header*>(block);
  header.cache->give_back(block, header.size);
}

std::string configure_tensor_heap() {
  const std::string mode = retain_freed_memory();
  if (mode != "retain" || g_installed) return mode;
  size_t budget_mb = 4096;
  if (const char* env = std::getenv("GENSAR_TENSOR_CACHE_MB")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    GENSAR_CHECK(end != env && *end == '\0',
                 "GENSAR_TENSOR_CACHE_MB: expected a whole number of MiB, got '{}'", env);
    budget_mb = v;
  }
  if (budget_mb == 0) return mode;  // heap settings only, LibTorch's own allocator
  // Never deleted: tensors freed during static destruction still return their blocks to it.
  auto* cache = new TensorBlockCache(budget_mb << 20);
  c10::SetCPUAllocator(cache, /*priority=*/1);
  g_installed = cache;
  return mode;
}

const TensorBlockCache* installed_tensor_cache() { return g_installed; }

}  // namespace gensar
