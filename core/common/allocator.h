// Heap settings for the long-running numeric verbs. A training or decoding step allocates and frees
// the same activation buffers (hundreds of kB to tens of MB) every step. With glibc's defaults the
// large ones are mmap'd and unmapped, and freed memory at the top of the heap is trimmed back to the
// kernel, so the next step takes them again as fresh zero-filled pages: ~20k minor page faults per
// second per rank on the small model (docs/performance.md, "Allocator"). Keeping freed memory in the
// heap removes most of them.
#pragma once

#include <string>

namespace gensar {

// The heap settings retain_freed_memory applies; bench_train gives the PyTorch eager reference the
// same ones through GLIBC_TUNABLES, so both read these.
inline constexpr int kHeapMmapThreshold = 32 << 20;  // glibc's upper bound for the threshold
inline constexpr int kHeapTrimThreshold = 256 << 20;
inline constexpr int kHeapTopPad = 64 << 20;

// Serves blocks up to 32 MB from the heap and keeps up to 256 MB of freed memory there (mallopt:
// M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD). The environment variable GENSAR_MALLOC=default
// leaves glibc's defaults (for A/B measurements and memory-tight hosts). Returns the mode applied:
// "retain" or "default".
std::string retain_freed_memory();

}  // namespace gensar
