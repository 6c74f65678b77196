// flush_denormals (core/common/cpu_numerics.h): after it, subnormal inputs read as zero and
// subnormal results become zero on this thread; GENSAR_DENORMALS=keep leaves the mode alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

#include "core/common/cpu_numerics.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace {

// volatile: the arithmetic must happen at run time, under the thread's MXCSR.
float times_one(float x) {
  volatile float v = x;
  volatile float one = 1.0f;
  return v * one;
}

float half(float x) {
  volatile float v = x;
  return v * 0.5f;
}

TEST(CpuNumerics, FlushTurnsSubnormalsIntoZeroAndKeepLeavesThem) {
#if defined(__SSE__)
  const unsigned saved = _mm_getcsr();
  const float subnormal = std::numeric_limits<float>::denorm_min() * 1000.0f;
  const float smallest_normal = std::numeric_limits<float>::min();
  ASSERT_GT(subnormal, 0.0f);

  setenv("GENSAR_DENORMALS", "keep", 1);
  EXPECT_EQ(gensar::flush_denormals(), "keep");
  EXPECT_EQ(times_one(subnormal), subnormal);       // gradual underflow: kept
  EXPECT_GT(half(smallest_normal), 0.0f);

  unsetenv("GENSAR_DENORMALS");
  EXPECT_EQ(gensar::flush_denormals(), "flush");
  EXPECT_EQ(times_one(subnormal), 0.0f);            // denormals-are-zero on input
  EXPECT_EQ(half(smallest_normal), 0.0f);           // flush-to-zero on output
  EXPECT_EQ(times_one(1.5f), 1.5f);                 // normal numbers untouched
  _mm_setcsr(saved);
#else
  EXPECT_EQ(gensar::flush_denormals(), "unsupported");
#endif
}

}  // namespace
