// The process mesh: world = DP x TP. TP groups are runs of consecutive ranks (they exchange
// activations every layer, so they should share a node); DP groups take one rank from each TP group.
//   world rank r  ->  tp_rank = r % tp_size,  dp_rank = r / tp_size
#pragma once

#include "distributed/communicator.h"

#include <memory>
#include <string>

namespace gensar::dist {

struct MeshOptions {
  int tp_size = 1;
  // "cpu": every group uses the world's backend (MPI or single). "cuda": picks the GPU by local
  // rank and builds NCCL groups over the MPI ones (needs a build with GENSAR_HAVE_NCCL).
  std::string device = "cpu";
};

class ProcessMesh {
 public:
  // Collective over `world`: every rank must construct its mesh with the same options.
  ProcessMesh(std::shared_ptr<Communicator> world, const MeshOptions& options);

  int world_rank() const { return world_->rank(); }
  int world_size() const { return world_->size(); }
  int dp_rank() const { return dp_rank_; }
  int dp_size() const { return dp_size_; }
  int tp_rank() const { return tp_rank_; }
  int tp_size() const { return tp_size_; }
  int local_rank() const { return local_rank_; }
  // -1 on CPU.
  int cuda_device() const { return cuda_device_; }

  // Communicators for host tensors (control plane, CPU training).
  const std::shared_ptr<Communicator>& world() const { return world_; }
  const std::shared_ptr<Communicator>& dp() const { return dp_; }
  const std::shared_ptr<Communicator>& tp() const { return tp_; }
  // Communicators for tensors on the training device: NCCL with device "cuda", else dp()/tp().
  const std::shared_ptr<Communicator>& dp_device() const { return dp_device_; }
  const std::shared_ptr<Communicator>& tp_device() const { return tp_device_; }

  std::string describe() const;

 private:
  std::shared_ptr<Communicator> world_, dp_, tp_, dp_device_, tp_device_;
  int dp_rank_ = 0, dp_size_ = 1, tp_rank_ = 0, tp_size_ = 1, local_rank_ = 0, cuda_device_ = -1;
};

}  // namespace gensar::dist
