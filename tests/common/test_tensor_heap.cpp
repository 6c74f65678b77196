// The large-block cache behind LibTorch's CPU allocator (core/common/tensor_heap.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <vector>

#include "core/common/tensor_heap.h"

namespace gensar {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(TensorBlockCache, SizeClassesHaveAtMostAnEighthOfSlack) {
  EXPECT_EQ(TensorBlockCache::size_class(8 * kMiB), 8 * kMiB);
  EXPECT_EQ(TensorBlockCache::size_class(8 * kMiB + 1), 9 * kMiB);
  for (size_t n : {kMiB + 7, 3 * kMiB + 12345, 44 * kMiB + 1, 1000 * kMiB - 3}) {
    const size_t c = TensorBlockCache::size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(c - n, n / 8) << n;
    EXPECT_EQ(TensorBlockCache::size_class(c), c) << "a class is its own class";
  }
}

TEST(TensorBlockCache, AFreedBlockServesTheNextRequestOfItsClass) {
  TensorBlockCache cache(64 * kMiB);
  void* first = nullptr;
  {
    c10::DataPtr a = cache.allocate(8 * kMiB);
    first = a.get();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
    static_cast<char*>(first)[8 * kMiB - 1] = 1;  // the whole request is usable
  }
  EXPECT_EQ(cache.stats().cached_bytes, 8 * kMiB);
  c10::DataPtr b = cache.allocate(8 * kMiB - 100);  // same class
  EXPECT_EQ(b.get(), first);
  c10::DataPtr c = cache.allocate(12 * kMiB);  // another class: a new block
  EXPECT_NE(c.get(), first);
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.live_bytes, 20 * kMiB);
}

TEST(TensorBlockCache, SmallRequestsBypassTheCache) {
  TensorBlockCache cache(64 * kMiB);
  { c10::DataPtr small = cache.allocate(1000); EXPECT_NE(small.get(), nullptr); }
  const auto s = cache.stats();
  EXPECT_EQ(s.hits + s.misses, 0u);
  EXPECT_EQ(s.cached_bytes, 0u);
}

TEST(TensorBlockCache, OverBudgetTheLeastRecentlyFreedGoBack) {
  TensorBlockCache cache(10 * kMiB);
  std::vector<c10::DataPtr> blocks;
  std::vector<void*> ptrs;
  for (int i = 0; i < 4; ++i) {
    blocks.push_back(cache.allocate(4 * kMiB));
    ptrs.push_back(blocks.back().get());
  }
  blocks.clear();  // freed in order 0, 1, 2, 3
  EXPECT_EQ(cache.stats().cached_bytes, 8 * kMiB);  // 2 and 3 kept, 0 and 1 returned
  c10::DataPtr again1 = cache.allocate(4 * kMiB);
  c10::DataPtr again2 = cache.allocate(4 * kMiB);
  EXPECT_TRUE((again1.get() == ptrs[3] && again2.get() == ptrs[2]) ||
              (again1.get() == ptrs[2] && again2.get() == ptrs[3]));
  EXPECT_EQ(cache.stats().cached_bytes, 0u);
}

// One test, so the order (defaults first, then the cache) is fixed.
TEST(TensorHeap, InstalledForTorchUnlessDefaultIsAsked) {
  setenv("GENSAR_MALLOC", "default", 1);
  EXPECT_EQ(configure_tensor_heap(), "default");
  EXPECT_EQ(installed_tensor_cache(), nullptr);
  unsetenv("GENSAR_MALLOC");
  torch::set_num_threads(1);  // OpenBLAS's threaded split is not bitwise reproducible by itself
  torch::manual_seed(3);
  const torch::Tensor a = torch::randn({700, 600});
  const torch::Tensor b = torch::randn({600, 500});
  const torch::Tensor expected = torch::mm(a, b);

  EXPECT_EQ(configure_tensor_heap(), "retain");
  const TensorBlockCache* cache = installed_tensor_cache();
  ASSERT_NE(cache, nullptr);
  void* first = nullptr;
  {
    torch::Tensor big = torch::empty({4 * 1024 * 1024});  // 16 MiB
    first = big.data_ptr();
  }
  torch::Tensor again = torch::empty({4 * 1024 * 1024});
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_GE(cache->stats().hits, 1u);
  // Results computed in cached blocks are the same numbers.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(torch::mm(a, b), expected));
}

}  // namespace
}  // namespace gensar
