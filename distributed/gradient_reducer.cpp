#include "distributed/gradient_reducer.h"

#include "core/common/check.h"
#include "core/common/log.h"

#include <torch/torch.h>

#include <chrono>

namespace gensar::dist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// FNV-1a over the layout description: cheap, deterministic across ranks and builds.
struct LayoutHash {
  uint64_t h = 1469598103934665603ull;
  void add(int64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<uint64_t>(v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
};

}  // namespace

GradientReducer::GradientReducer(std::vector<torch::Tensor> parameters,
                                 std::shared_ptr<Communicator> dp, ReducerOptions options)
    : dp_(std::move(dp)), options_(options) {
  GENSAR_CHECK(dp_ != nullptr, "GradientReducer needs a DP communicator");
  GENSAR_INPUT_CHECK(options_.bucket_cap_mb > 0, "--bucket-cap-mb must be positive, got {}",
                     options_.bucket_cap_mb);
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].requires_grad()) continue;
    GENSAR_CHECK(parameters[i].is_leaf(), "parameter {} is not a leaf tensor", i);
    params_.push_back(parameters[i]);
    param_index_.push_back(static_cast<int>(i));
  }
  slots_.resize(params_.size());

  // Reverse registration order; a new bucket when the cap would be exceeded or dtype/device change.
  const int64_t cap_bytes = static_cast<int64_t>(options_.bucket_cap_mb * 1024 * 1024);
  int64_t bucket_bytes = 0;
  for (int i = static_cast<int>(params_.size()) - 1; i >= 0; --i) {
    const torch::Tensor& p = params_[i];
    int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    bool new_bucket = buckets_.empty() || bucket_bytes + bytes > cap_bytes;
    if (!new_bucket) {
      const torch::Tensor& first = params_[buckets_.back().params.front()];
      new_bucket = first.scalar_type() != p.scalar_type() || first.device() != p.device();
    }
    if (new_bucket) {
      buckets_.emplace_back();
      bucket_bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    slots_[i].bucket = static_cast<int>(buckets_.size()) - 1;
    slots_[i].offset = bucket_bytes / static_cast<int64_t>(p.element_size());
    slots_[i].numel = p.numel();
    bucket.params.push_back(i);
    bucket_bytes += bytes;
  }
  for (Bucket& bucket : buckets_) {
    const torch::Tensor& first = params_[bucket.params.front()];
    int64_t numel = 0;
    for (int i : bucket.params) numel += slots_[i].numel;
    bucket.flat = torch::zeros({numel}, first.options().requires_grad(false));
  }
  verify_layout();
  reset_step();

  for (size_t i = 0; i < params_.size(); ++i) {
    int index = static_cast<int>(i);
    hook_handles_.push_back(
        params_[i].register_hook([this, index](const torch::Tensor& grad) { on_gradient(index, grad); }));
  }
  if (options_.broadcast_parameters) broadcast_parameters();
  GENSAR_INFO("dist", "gradient reducer: {} parameters in {} buckets of <= {} MB over {} DP ranks",
              params_.size(), buckets_.size(), options_.bucket_cap_mb, dp_->size());
}

GradientReducer::~GradientReducer() {
  for (Bucket& bucket : buckets_) {
    if (bucket.work) {
      try { bucket.work->wait(); } catch (...) {}
    }
  }
  for (size_t i = 0; i < params_.size() && i < hook_handles_.size(); ++i) {
    params_[i].remove_hook(hook_handles_[i]);
  }
}

void GradientReducer::verify_layout() {
  LayoutHash hash;
  hash.add(static_cast<int64_t>(buckets_.size()));
  for (const Bucket& bucket : buckets_) {
    hash.add(static_cast<int64_t>(bucket.params.size()));
    for (int i : bucket.params) {
      hash.add(slots_[i].numel);
      hash.add(static_cast<int64_t>(params_[i].scalar_type()));
    }
  }
  // One all-reduce gives max and -min of the hash: they agree only when every rank agrees.
  int64_t h = static_cast<int64_t>(hash.h >> 1);
  torch::Tensor both = torch::tensor({h, -h}, torch::kLong);
  dp_->all_reduce(both, ReduceOp::kMax);
  GENSAR_CHECK(both[0].item<int64_t>() == -both[1].item<int64_t>(),
               "gradient bucket layouts differ across DP ranks (this rank: {} buckets, {} "
               "parameters): every DP rank must build the same model with the same bucket size",
               buckets_.size(), params_.size());
}

void GradientReducer::reset_step() {
  for (Slot& slot : slots_) slot.ready = false;
  for (Bucket& bucket : buckets_) {
    bucket.pending = static_cast<int>(bucket.params.size());
    bucket.work.reset();
  }
  next_to_launch_ = 0;
}

void GradientReducer::fill_slot(int index, const torch::Tensor* grad) {
  Slot& slot = slots_[index];
  torch::Tensor view = buckets_[slot.bucket].flat.narrow(0, slot.offset, slot.numel);
  const torch::Tensor& accumulated = params_[index].grad();
  if (grad) {
    view.copy_(grad->reshape({-1}));
    // .grad still holds earlier no_sync micro-steps: autograd adds `grad` to it after this hook.
    if (accumulated.defined()) view.add_(accumulated.reshape({-1}));
  } else if (accumulated.defined()) {
    view.copy_(accumulated.reshape({-1}));
  } else {
    view.zero_();
  }
  slot.ready = true;
  --buckets_[slot.bucket].pending;
}

void GradientReducer::on_gradient(int index, const torch::Tensor& grad) {
  if (!sync_) return;
  GENSAR_CHECK(!slots_[index].ready,
               "parameter {} received a second gradient in one synchronised step: call "
               "finish_backward() after each backward, or run micro-steps inside no_sync()",
               param_index_[index]);
  torch::NoGradGuard no_grad;
  fill_slot(index, &grad);
  launch_ready_buckets();
  // MPI has no progress thread: testing launched requests here moves them along during backward.
  for (int b = 0; b < next_to_launch_; ++b) {
    if (buckets_[b].work) buckets_[b].work->poll();
  }
}

void GradientReducer::launch_ready_buckets() {
  while (next_to_launch_ < static_cast<int>(buckets_.size()) &&
         buckets_[next_to_launch_].pending == 0) {
    launch(next_to_launch_++);
  }
}

void GradientReducer::launch(int b) {
  buckets_[b].work = dp_->all_reduce_async(buckets_[b].flat, ReduceOp::kSum);
}

void GradientReducer::finish_backward() {
  if (!sync_) return;
  auto start = Clock::now();
  torch::NoGradGuard no_grad;
  stats_ = ReducerStepStats{};
  stats_.buckets = static_cast<int>(buckets_.size());
  stats_.buckets_launched_in_backward = next_to_launch_;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].ready) {
      fill_slot(static_cast<int>(i), nullptr);
      ++stats_.unused_parameters;
    }
  }
  launch_ready_buckets();
  GENSAR_CHECK(next_to_launch_ == static_cast<int>(buckets_.size()),
               "{} of {} gradient buckets launched after finish_backward", next_to_launch_,
               buckets_.size());
  auto wait_start = Clock::now();
  for (Bucket& bucket : buckets_) bucket.work->wait();
  stats_.wait_seconds = seconds_since(wait_start);
  const double scale = 1.0 / dp_->size();
  for (Bucket& bucket : buckets_) {
    if (dp_->size() > 1 && options_.reduction == GradientReduction::kMean) bucket.flat.mul_(scale);
    for (int i : bucket.params) {
      torch::Tensor reduced = bucket.flat.narrow(0, slots_[i].offset, slots_[i].numel);
      torch::Tensor& grad = params_[i].mutable_grad();
      if (grad.defined()) {
        grad.copy_(reduced.view(grad.sizes()));  // copy_ honours whatever strides .grad has
      } else {
        grad = reduced.view(params_[i].sizes()).clone();
      }
    }
  }
  reset_step();
  stats_.finish_seconds = seconds_since(start);
}

void GradientReducer::broadcast_parameters(const std::vector<torch::Tensor>& buffers, int root) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : params_) {
    torch::Tensor data = p.detach();
    dp_->broadcast(data, root);
  }
  for (const torch::Tensor& b : buffers) {
    torch::Tensor data = b.detach();
    dp_->broadcast(data, root);
  }
}

bool GradientReducer::replicas_consistent() {
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(params_.size());
  torch::Tensor sums = torch::empty({2 * n}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor p = params_[i].detach().to(torch::kCPU, torch::kDouble).reshape({-1});
    // The weighted term catches permuted values that a plain sum would miss.
    torch::Tensor weights = torch::arange(1, p.numel() + 1, torch::kDouble);
    double s = (p * weights).sum().item<double>() + p.abs().sum().item<double>();
    sums[i] = s;
    sums[n + i] = -s;
  }
  dp_->all_reduce(sums, ReduceOp::kMax);
  int mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    double hi = sums[i].item<double>(), lo = -sums[n + i].item<double>();
    if (hi != lo) {
      if (++mismatches <= 5) {
        GENSAR_WARN("dist", "parameter {} differs across DP ranks (checksums from {} to {})",
                    param_index_[i], lo, hi);
      }
    }
  }
  return mismatches == 0;
}

std::vector<int> GradientReducer::bucket_parameters(int b) const {
  std::vector<int> out;
  for (int i : buckets_.at(b).params) out.push_back(param_index_[i]);
  return out;
}

}  // namespace gensar::dist
