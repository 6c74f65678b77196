// GENSAR_VECTOR_CLONES: compile a plain loop function for AVX-512, AVX2 and the baseline, the widest
// picked at load time (GCC/Clang function multiversioning). The default build targets the baseline
// x86-64, so hand-written elementwise kernels would otherwise run at a quarter of the width of
// LibTorch's own runtime-dispatched kernels. Elsewhere (non-x86, other compilers) it is empty.
// Files using it build with -O3: -O2's cost model leaves loops of unknown length scalar.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define GENSAR_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GENSAR_VECTOR_CLONES
#endif
