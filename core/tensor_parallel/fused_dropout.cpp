#include "core/tensor_parallel/fused_dropout.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <atomic>
#include <vector>

#include "core/common/check.h"

namespace gensar::tp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Elements per parallel chunk of the elementwise passes (rows for the row-wise softmax backward).
constexpr int64_t kGrain = 16384;

void save_mask(AutogradContext* ctx, const KeepMask& m) {
  ctx->saved_data["key"] = static_cast<int64_t>(m.key);
  ctx->saved_data["threshold"] = static_cast<int64_t>(m.threshold);
  ctx->saved_data["scale"] = static_cast<double>(m.scale);
}

KeepMask load_mask(AutogradContext* ctx) {
  KeepMask m;
  m.key = static_cast<uint64_t>(ctx->saved_data["key"].toInt());
  m.threshold = static_cast<uint32_t>(ctx->saved_data["threshold"].toInt());
  m.scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
  return m;
}

// out = a * mask over the flat range, the mask filled into `out` first (it stays in cache).
void multiply_by_mask(const KeepMask& m, const float* a, float* out, int64_t n) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    m.fill(begin, end, out + begin);
    for (int64_t i = begin; i < end; ++i) out[i] *= a[i];
  });
}

struct SoftmaxDropout : torch::autograd::Function<SoftmaxDropout> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& scores, KeepMask m) {
    torch::Tensor probs = torch::softmax(scores, -1).contiguous();
    torch::Tensor out = torch::empty_like(probs);
    multiply_by_mask(m, probs.data_ptr<float>(), out.data_ptr<float>(), probs.numel());
    ctx->save_for_backward({probs});
    save_mask(ctx, m);
    return out;
  }

  // With y = p * mask, p = softmax(s): ds_i = p_i * (g_i mask_i - sum_j g_j mask_j p_j), one row at a
  // time with the row's mask in a small buffer.
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor probs = ctx->get_saved_variables()[0];
    const torch::Tensor grad = grads[0].contiguous();
    const KeepMask m = load_mask(ctx);
    torch::Tensor out = torch::empty_like(probs);
    const int64_t cols = probs.size(-1), rows = probs.numel() / cols;
    const float* p = probs.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* ds = out.data_ptr<float>();
    at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t begin, int64_t end) {
      std::vector<float> mask(static_cast<size_t>(cols));
      for (int64_t r = begin; r < end; ++r) {
        const int64_t base = r * cols;
        m.fill(base, base + cols, mask.data());
        float dot = 0.0f;
        for (int64_t j = 0; j < cols; ++j) {
          mask[j] *= g[base + j];  // the gradient reaching the probabilities
          dot += mask[j] * p[base + j];
        }
        for (int64_t j = 0; j < cols; ++j) ds[base + j] = p[base + j] * (mask[j] - dot);
      }
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
      for (int64_t i = begin; i < end; ++i) y[i] = a[i] > 0.0f ? y[i] * a[i] : 0.0f;
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
      for (int64_t i = begin; i < end; ++i) dx[i] = yy[i] > 0.0f ? g[i] * scale : 0.0f;
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
