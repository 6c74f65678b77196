#include "core/common/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace gensar {

std::string retain_freed_memory() {
  const char* mode = std::getenv("GENSAR_MALLOC");
  if (mode && std::strcmp(mode, "default") == 0) return "default";
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, kHeapMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kHeapTrimThreshold);
  mallopt(M_TOP_PAD, kHeapTopPad);
  return "retain";
#else
  return "default";
#endif
}

}  // namespace gensar
