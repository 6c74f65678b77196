#include "core/tensor_parallel/fused_dropout.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>

#include "core/common/vector_clones.h"

namespace gensar::tp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Elements per parallel chunk of the elementwise passes (rows for the row-wise softmax backward).
constexpr int64_t kGrain = 16384;

// The elementwise kernels (GENSAR_VECTOR_CLONES: AVX-512 / AVX2 / baseline, picked at load time).

// y[i] *= a[i].
GENSAR_VECTOR_CLONES
void multiply_into(const float* __restrict a, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= a[i];
}

// y[i] = mask[i] * relu(x[i]), the mask already in y.
GENSAR_VECTOR_CLONES
void relu_into(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? y[i] * x[i] : 0.0f;
}

// dx[i] = g[i] * scale where y[i] > 0, else 0.
GENSAR_VECTOR_CLONES
void relu_dropout_grad(const float* __restrict y, const float* __restrict g, float scale,
                       float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? g[i] * scale : 0.0f;
}

// One row of the softmax-dropout backward (see SoftmaxDropout::backward). The dot product runs in
// sixteen partial sums so that it vectorises under strict floating point.
GENSAR_VECTOR_CLONES
void softmax_dropout_grad_row(const float* __restrict p, const float* __restrict y,
                              const float* __restrict g, float scale, float* __restrict ds,
                              int64_t n) {
  float part[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; ++l) part[l] += g[j + l] * y[j + l];
  float sum = 0.0f;
  for (int l = 0; l < 16; ++l) sum += part[l];
  for (; j < n; ++j) sum += g[j] * y[j];
  for (j = 0; j < n; ++j) ds[j] = p[j] * ((y[j] != 0.0f ? g[j] * scale : 0.0f) - sum);
}

// out = a * mask over the flat range, the mask filled into `out` first (it stays in cache).
void multiply_by_mask(const KeepMask& m, const float* a, float* out, int64_t n) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    m.fill(begin, end, out + begin);
    multiply_into(a + begin, out + begin, end - begin);
  });
}

struct SoftmaxDropout : torch::autograd::Function<SoftmaxDropout> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& scores, KeepMask m) {
    torch::Tensor probs = torch::softmax(scores, -1).contiguous();
    torch::Tensor out = torch::empty_like(probs);
    multiply_by_mask(m, probs.data_ptr<float>(), out.data_ptr<float>(), probs.numel());
    // The output is kept by the next matmul anyway; saving it costs no memory.
    ctx->save_for_backward({probs, out});
    ctx->saved_data["scale"] = static_cast<double>(m.scale);
    return out;
  }

  // With y = p * mask, p = softmax(s): ds_i = p_i * (g_i mask_i - sum_j g_j y_j). The mask is
  // where y is non-zero (a probability that underflowed to 0 contributes p_i * ... = 0 either way),
  // so backward reads y instead of recomputing the hash.
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& probs = saved[0];
    const torch::Tensor& y = saved[1];
    const torch::Tensor grad = grads[0].contiguous();
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    torch::Tensor out = torch::empty_like(probs);
    const int64_t cols = probs.size(-1), rows = probs.numel() / cols;
    const float* p = probs.data_ptr<float>();
    const float* yy = y.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* ds = out.data_ptr<float>();
    at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        softmax_dropout_grad_row(p + r * cols, yy + r * cols, g + r * cols, scale, ds + r * cols, cols);
    });
    return {out, torch::Tensor()};
  }
};

struct ReluDropout : torch::autograd::Function<ReluDropout> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, KeepMask m) {
    const torch::Tensor in = x.contiguous();
    torch::Tensor out = torch::empty_like(in);
    const float* a = in.data_ptr<float>();
    float* y = out.data_ptr<float>();
    at::parallel_for(0, in.numel(), kGrain, [&](int64_t begin, int64_t end) {
      m.fill(begin, end, y + begin);
      relu_into(a + begin, y + begin, end - begin);
    });
    ctx->save_for_backward({out});
    ctx->saved_data["scale"] = static_cast<double>(m.scale);
    return out;
  }

  // y > 0 exactly where x > 0 and the element was kept; there dx = dy * scale, elsewhere 0 (ReLU's
  // gradient at 0 is 0, as LibTorch's).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor y = ctx->get_saved_variables()[0];
    const torch::Tensor grad = grads[0].contiguous();
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    torch::Tensor out = torch::empty_like(y);
    const float* yy = y.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* dx = out.data_ptr<float>();
    at::parallel_for(0, y.numel(), kGrain, [&](int64_t begin, int64_t end) {
      relu_dropout_grad(yy + begin, g + begin, scale, dx + begin, end - begin);
    });
    return {out, torch::Tensor()};
  }
};

std::atomic<bool> fusion_enabled{true};

bool fusable(const torch::Tensor& x) {
  return fusion_enabled.load(std::memory_order_relaxed) && x.scalar_type() == torch::kFloat &&
         x.device().is_cpu();
}

}  // namespace

torch::Tensor sharded_softmax_dropout(const torch::Tensor& scores, double p, bool train,
                                      DropoutRng& rng, int64_t dim, int tp_rank, int tp_size) {
  if (!train || p <= 0) return torch::softmax(scores, -1);
  at::Generator* gen = local_mask_generator(rng, tp_size);
  if (!gen || !fusable(scores))
    return sharded_dropout(torch::softmax(scores, -1), p, train, rng, dim, tp_rank, tp_size);
  return SoftmaxDropout::apply(scores, KeepMask::draw(p, *gen));
}

torch::Tensor sharded_relu_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng,
                                   int64_t dim, int tp_rank, int tp_size) {
  if (!train || p <= 0) return torch::relu(x);
  at::Generator* gen = local_mask_generator(rng, tp_size);
  if (!gen || !fusable(x)) return sharded_dropout(torch::relu(x), p, train, rng, dim, tp_rank, tp_size);
  return ReluDropout::apply(x, KeepMask::draw(p, *gen));
}

void set_dropout_fusion(bool enabled) { fusion_enabled.store(enabled); }
bool dropout_fusion() { return fusion_enabled.load(); }

}  // namespace gensar::tp
