// The model's matrix products on CPU: one place that decides which library runs them.
//
// Profiled on the TIGER step (docs/performance.md), the matrix products are three quarters of a
// training step: the linear layers (mm, 47%) and attention's many small batched products (bmm,
// 30%, one 169x64x169 product per batch entry and head, at about a third of the machine's GEMM
// peak through LibTorch's BLAS). oneDNN's matmul (Debian's libdnnl, brgemm kernels chosen for the
// running CPU) runs those shapes 1.5-4x faster than LibTorch on OpenBLAS on this workplace's
// machines, so where gensar was built with oneDNN, float32 CPU products of useful size go there,
// forward and backward; everything else (CUDA tensors, other dtypes, tiny products, builds without
// oneDNN, GENSAR_GEMM=torch) goes through LibTorch exactly as before. The two paths agree to
// float32 rounding, not bit for bit: a run is reproducible on one backend, and the backend is
// printed by the benchmarks and logged at start-up.
#pragma once

#include <torch/torch.h>

namespace gensar::gemm {

enum class Backend { kTorch, kOneDnn };

// True when this build links oneDNN.
bool onednn_built();
// The process-wide backend: GENSAR_GEMM=torch|onednn, read once; oneDNN by default where built.
// GENSAR_GEMM=onednn in a build without it is an error.
Backend backend();
// For benchmarks that time both backends in one process (bench_train); not for use mid-training.
void set_backend(Backend backend);
const char* backend_name(Backend backend);
// Products oneDNN has run in this process (tests and benchmarks check the path is taken).
uint64_t onednn_products();
// The primitive cache (one oneDNN primitive per operand layout) holds at most this many layouts
// and starts over when full, so a long evaluation over many beam and source shapes cannot grow it
// without bound. Default 4096; settable for tests. `onednn_cached_layouts` is its current size.
void set_primitive_cache_capacity(size_t layouts);
size_t onednn_cached_layouts();

// a [..., M, K] times b [..., K, N] with equal leading (batch) dimensions, no broadcasting; either
// operand may be a transposed or otherwise strided view. Differentiable in both operands.
torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b);

// x [..., in] times weight [out, in] transposed: torch::nn::functional::linear without a bias.
// Differentiable; the weight's gradient comes back contiguous in the weight's own layout.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight);

}  // namespace gensar::gemm
