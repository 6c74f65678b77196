#include "core/common/cpu_numerics.h"

#include <cstdlib>
#include <cstring>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace gensar {

std::string flush_denormals() {
  const char* env = std::getenv("GENSAR_DENORMALS");
  if (env != nullptr && std::strcmp(env, "keep") == 0) return "keep";
#if defined(__SSE__)
  constexpr unsigned kFlushToZero = 0x8000;      // MXCSR bit 15: subnormal results become 0
  constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR bit 6: subnormal inputs read as 0
  _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
  return "flush";
#else
  return "unsupported";
#endif
}

}  // namespace gensar
