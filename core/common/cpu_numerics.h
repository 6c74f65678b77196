// Floating-point mode for the numeric verbs. Once training sharpens attention, some softmax
// probabilities fall into the subnormal range (exp(x) for x below about -87 in float) and flow into
// the attention GEMMs and their backward; x86 cores take a microcode assist of ~100 cycles for each
// FMA with a subnormal operand, so the same step gets slower as the model trains (docs/performance.md,
// "Subnormal floats"). Flushing subnormals to zero (FTZ and DAZ in MXCSR) removes the assists; their
// contribution is below 1e-38 of the values they are added to.
#pragma once

#include <string>

namespace gensar {

// Sets flush-to-zero and denormals-are-zero for the calling thread, which is where gensar's compute
// runs with one intra-op thread (the configuration of every documented run). Worker threads of a
// multi-threaded BLAS or OpenMP pool keep their own mode. GENSAR_DENORMALS=keep leaves the mode alone
// (A/B measurements). Returns "flush", "keep", or "unsupported" (not an x86 build).
std::string flush_denormals();

}  // namespace gensar
