// Floating-point mode for the numeric verbs. A training run's steps get slower as the model trains
// (the small model on two ranks: ~260 samples/s over the first 200 steps, ~100 after 2,000), and
// resuming such a run with subnormals flushed to zero runs 1.67x faster than without
// (bench/bench_denormals.sh; docs/performance.md, "Subnormal floats"). The likely source is
// attention and catalogue-softmax tails: exp(x) for x below about -87 is subnormal in float, and
// x86 cores take a microcode assist for arithmetic on subnormal operands. Flushing them (FTZ and
// DAZ in MXCSR) changes values below 1e-38 only.
#pragma once

#include <string>

namespace gensar {

// Sets flush-to-zero and denormals-are-zero for the calling thread, which is where gensar's compute
// runs with one intra-op thread (the configuration of every documented run). Worker threads of a
// multi-threaded BLAS or OpenMP pool keep their own mode. GENSAR_DENORMALS=keep leaves the mode alone
// (A/B measurements). Returns "flush", "keep", or "unsupported" (not an x86 build).
std::string flush_denormals();

}  // namespace gensar
