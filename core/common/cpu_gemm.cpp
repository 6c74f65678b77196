#include "core/common/cpu_gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/check.h"

#ifdef GENSAR_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace gensar::gemm {
namespace {
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Below about a million multiply-adds LibTorch's per-call cost is the smaller one (the decoder's
// one-row products while decoding); above it oneDNN's kernels win on every shape measured
// (docs/performance.md, "oneDNN matrix products").
constexpr double kMinFlops = double(1 << 20);

Backend initial_backend() {
  const char* env = std::getenv("GENSAR_GEMM");
  const std::string value = env ? env : "";
  if (value.empty()) return onednn_built() ? Backend::kOneDnn : Backend::kTorch;
  if (value == "torch") return Backend::kTorch;
  GENSAR_CHECK(value == "onednn", "GENSAR_GEMM={} is not one of torch, onednn", value);
  GENSAR_CHECK(onednn_built(),
               "GENSAR_GEMM=onednn, but this build has no oneDNN (install libdnnl-dev and "
               "reconfigure: scripts/setup.sh)");
  return Backend::kOneDnn;
}

std::atomic<uint64_t> g_onednn_products{0};

std::atomic<int>& backend_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_backend())};
  return slot;
}

#ifdef GENSAR_HAVE_ONEDNN
dnnl::memory::desc desc_of(const Tensor& t) {
  dnnl::memory::dims dims(t.sizes().begin(), t.sizes().end());
  dnnl::memory::dims strides(t.strides().begin(), t.strides().end());
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Primitives by operand layout. Creating a primitive descriptor walks oneDNN's implementation
// list (tenths of a millisecond); a training run sees a few dozen layouts (one per length bucket
// and product), so each is created once. A null entry marks a layout that only oneDNN's reference
// kernel takes: those go to LibTorch. Evaluation sees more (beam counts times source lengths times
// decoding steps), so the cache is bounded: past its capacity it is cleared and refills with the
// layouts in use (a product running on another thread keeps its primitive alive by shared_ptr).
class PrimitiveCache {
 public:
  void set_capacity(size_t layouts) {
    std::lock_guard<std::mutex> lock(mutex_);
    capacity_ = std::max<size_t>(layouts, 1);
    if (cache_.size() > capacity_) cache_.clear();
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cache_.size();
  }

  std::shared_ptr<dnnl::matmul> get(const Tensor& a, const Tensor& b, const Tensor& c) {
    std::vector<int64_t> key;
    for (const Tensor* t : {&a, &b, &c}) {
      key.push_back(t->dim());
      key.insert(key.end(), t->sizes().begin(), t->sizes().end());
      key.insert(key.end(), t->strides().begin(), t->strides().end());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end()) return found->second;
    std::shared_ptr<dnnl::matmul> primitive;
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(desc_of(a), desc_of(b), desc_of(c)),
                                      cpu_engine());
      if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0)
        primitive = std::make_shared<dnnl::matmul>(pd);
    } catch (const dnnl::error&) {
      // No implementation for this layout: LibTorch takes it.
    }
    if (cache_.size() >= capacity_) cache_.clear();
    cache_.emplace(std::move(key), primitive);
    return primitive;
  }

 private:
  struct Hash {
    size_t operator()(const std::vector<int64_t>& key) const {
      size_t h = key.size();
      for (int64_t v : key) h = h * 1000003u ^ static_cast<size_t>(v);
      return h;
    }
  };
  std::mutex mutex_;
  size_t capacity_ = 4096;
  std::unordered_map<std::vector<int64_t>, std::shared_ptr<dnnl::matmul>, Hash> cache_;
};

PrimitiveCache& primitives() {
  static auto* cache = new PrimitiveCache();  // never destroyed: products may run at exit
  return *cache;
}

// oneDNN's fast kernels read operands whose last two dimensions are row- or column-major;
// anything else (broadcast or sliced views) is copied to contiguous first, as LibTorch does.
Tensor plain(const Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.stride(d) == 0 && t.size(d) > 1) return t.contiguous();
  const bool row_major = t.stride(-1) == 1 && t.stride(-2) >= t.size(-1);
  const bool col_major = t.stride(-2) == 1 && t.stride(-1) >= t.size(-2);
  return row_major || col_major ? t : t.contiguous();
}

// c = a b through oneDNN; false when the layout has no fast kernel.
bool onednn_product(const Tensor& a, const Tensor& b, const Tensor& c) {
  auto primitive = primitives().get(a, b, c);
  if (!primitive) return false;
  auto& engine = cpu_engine();
  dnnl::memory am(desc_of(a), engine, a.data_ptr());
  dnnl::memory bm(desc_of(b), engine, b.data_ptr());
  dnnl::memory cm(desc_of(c), engine, c.data_ptr());
  // One in-order CPU stream per thread, made once (products on one thread never overlap).
  thread_local dnnl::stream stream(engine);
  primitive->execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
  g_onednn_products.fetch_add(1, std::memory_order_relaxed);
  return true;
}
#endif

// Whether oneDNN takes a b: float32 CPU operands of equal batch shape and enough work.
bool onednn_eligible(const Tensor& a, const Tensor& b) {
  if (backend() != Backend::kOneDnn) return false;
  if (!a.device().is_cpu() || !b.device().is_cpu()) return false;
  if (a.scalar_type() != torch::kFloat || b.scalar_type() != torch::kFloat) return false;
  if (a.dim() != b.dim() || a.dim() < 2 || a.dim() > 6) return false;
  if (a.size(-1) != b.size(-2)) return false;
  for (int64_t d = 0; d + 2 < a.dim(); ++d)
    if (a.size(d) != b.size(d)) return false;
  const double flops = double(a.numel()) * double(b.size(-1));
  return flops >= kMinFlops;
}

// The product without autograd: oneDNN where eligible, LibTorch otherwise.
Tensor product(const Tensor& a, const Tensor& b) {
#ifdef GENSAR_HAVE_ONEDNN
  if (onednn_eligible(a, b)) {
    auto pa = plain(a), pb = plain(b);
    std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
    shape.back() = b.size(-1);
    auto c = torch::empty(shape, a.options());
    if (onednn_product(pa, pb, c)) return c;
  }
#endif
  return torch::matmul(a, b);
}

bool needs_autograd(const Tensor& a, const Tensor& b) {
  return torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
}

struct MatmulFunction : torch::autograd::Function<MatmulFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return product(a, b);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &a = saved[0], &b = saved[1], &g = grads[0];
    Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = product(g, b.transpose(-1, -2));
    if (ctx->needs_input_grad(1)) gb = product(a.transpose(-1, -2), g);
    return {ga, gb};
  }
};

// x [rows, in] and weight [out, in]; the weight's gradient is computed as g^T x so that it comes
// out [out, in] contiguous, not as the transpose of x^T g.
struct LinearFunction : torch::autograd::Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight) {
    ctx->save_for_backward({x, weight});
    return product(x, weight.t());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &weight = saved[1], &g = grads[0];
    Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = product(g, weight);
    if (ctx->needs_input_grad(1)) gw = product(g.t(), x);
    return {gx, gw};
  }
};
}  // namespace

bool onednn_built() {
#ifdef GENSAR_HAVE_ONEDNN
  return true;
#else
  return false;
#endif
}

Backend backend() { return static_cast<Backend>(backend_slot().load(std::memory_order_relaxed)); }

void set_backend(Backend b) {
  GENSAR_CHECK(b == Backend::kTorch || onednn_built(), "this build has no oneDNN");
  backend_slot().store(static_cast<int>(b));
}

uint64_t onednn_products() { return g_onednn_products.load(); }

#ifdef GENSAR_HAVE_ONEDNN
void set_primitive_cache_capacity(size_t layouts) { primitives().set_capacity(layouts); }
size_t onednn_cached_layouts() { return primitives().size(); }
#else
void set_primitive_cache_capacity(size_t) {}
size_t onednn_cached_layouts() { return 0; }
#endif

const char* backend_name(Backend b) { return b == Backend::kOneDnn ? "onednn" : "torch"; }

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (!onednn_eligible(a, b)) return torch::matmul(a, b);
  if (needs_autograd(a, b)) return MatmulFunction::apply(a, b);
  return product(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight) {
  const int64_t in = weight.size(1);
  GENSAR_CHECK(x.dim() >= 1 && x.size(-1) == in, "linear: input of width {} against a weight of {} inputs",
               x.dim() >= 1 ? x.size(-1) : 0, in);
  auto rows = x.reshape({-1, in});
  if (!onednn_eligible(rows, weight.t())) return torch::nn::functional::linear(x, weight);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = weight.size(0);
  auto y = needs_autograd(rows, weight) ? LinearFunction::apply(rows, weight)
                                        : product(rows, weight.t());
  return y.view(shape);
}

}  // namespace gensar::gemm
