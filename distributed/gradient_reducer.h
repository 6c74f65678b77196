// Data-parallel gradient reduction in the style of PyTorch DDP, written here because Debian's
// LibTorch has no usable c10d::Reducer (and ours reduces over the DP group only, so it is TP-aware).
//
// Parameters are packed, in reverse registration order (roughly the order backward produces their
// gradients), into flat buckets of at most `bucket_cap_mb`. The layout is identical on every rank
// and checked at construction with one all-reduced checksum.
//
// Hooks: in LibTorch 1.13 a tensor hook on a parameter fires BEFORE its gradient is accumulated
// into .grad, with the complete gradient of this backward pass as its argument. So the hook copies
// that value (plus any .grad left by no_sync micro-steps) into the parameter's bucket slot; when
// every slot of a bucket is filled, and every earlier bucket has been launched (so all ranks launch
// in the same order), the bucket's all-reduce starts asynchronously while backward continues.
// finish_backward() zero-fills the slots of parameters that got no gradient this step (so ranks
// never wait on each other forever), launches what is left, waits, scales by 1 / DP size (kMean)
// and writes the reduced bucket back into every parameter's .grad (overwriting what autograd
// accumulated there).
//
// The one data-parallel gradient path of the project: the T5 trainer, SASRec and the RQ-VAE all
// reduce through it.
#pragma once

#include "distributed/communicator.h"

#include <memory>
#include <vector>

namespace gensar::dist {

enum class GradientReduction {
  kMean,  // DDP's: each .grad becomes the mean over DP ranks (loss is a per-rank mean)
  kSum,   // the sum over DP ranks (loss already divided by a global count, as SASRec's)
};

struct ReducerOptions {
  double bucket_cap_mb = 25.0;
  // Collective over the DP group at construction: every rank starts from rank 0's parameters.
  bool broadcast_parameters = true;
  GradientReduction reduction = GradientReduction::kMean;
};

struct ReducerStepStats {
  int buckets = 0;
  int buckets_launched_in_backward = 0;  // overlapped with backward compute
  int unused_parameters = 0;             // zero-filled this step
  double wait_seconds = 0;               // time finish_backward spent waiting on communication
  double finish_seconds = 0;             // all of finish_backward (launch + wait + copy back)
};

class GradientReducer {
 public:
  // `parameters`: the model's parameters in registration order (those without requires_grad are
  // skipped). `dp`: the data-parallel group; every rank of it constructs its reducer the same way.
  GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<Communicator> dp,
                  ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call after loss.backward() on a synchronised step, before optimizer.step(). A no-op inside
  // no_sync().
  void finish_backward();

  // Gradient-accumulation micro-steps: while the guard lives, backward only accumulates .grad
  // locally; the next synchronised step reduces the accumulated sum.
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(GradientReducer* reducer) : reducer_(reducer), previous_(reducer->sync_) {
      reducer_->sync_ = false;
    }
    ~NoSyncGuard() { reducer_->sync_ = previous_; }
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    GradientReducer* reducer_;
    bool previous_;
  };
  NoSyncGuard no_sync() { return NoSyncGuard(this); }

  // Copies `root`'s parameters (and `buffers`, e.g. running statistics) to every DP rank.
  void broadcast_parameters(const std::vector<torch::Tensor>& buffers = {}, int root = 0);

  // Collective: true when every DP rank holds bitwise-identical parameters (compares per-parameter
  // float64 checksums; logs the first differing parameters).
  bool replicas_consistent();

  int bucket_count() const { return static_cast<int>(buckets_.size()); }
  // Parameter indices (registration order) of bucket b, in bucket order.
  std::vector<int> bucket_parameters(int b) const;
  const ReducerStepStats& last_step() const { return stats_; }
  Communicator& dp() { return *dp_; }

 private:
  struct Slot {
    int bucket = 0;
    int64_t offset = 0;
    int64_t numel = 0;
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<int> params;
    int pending = 0;
    std::shared_ptr<Work> work;
  };

  void on_gradient(int index, const torch::Tensor& grad);
  void fill_slot(int index, const torch::Tensor* grad);
  void launch_ready_buckets();
  void launch(int b);
  void reset_step();
  void verify_layout();

  std::vector<torch::Tensor> params_;
  std::vector<int> param_index_;  // position in the constructor's list (for messages)
  std::shared_ptr<Communicator> dp_;
  ReducerOptions options_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hook_handles_;
  int next_to_launch_ = 0;
  bool sync_ = true;
  ReducerStepStats stats_;
};

}  // namespace gensar::dist
