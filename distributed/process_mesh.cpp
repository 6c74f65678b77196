#include "distributed/process_mesh.h"

#include "core/common/check.h"
#include "core/common/log.h"
#include "distributed/nccl_communicator.h"

namespace gensar::dist {

ProcessMesh::ProcessMesh(std::shared_ptr<Communicator> world, const MeshOptions& options)
    : world_(std::move(world)), tp_size_(options.tp_size) {
  GENSAR_INPUT_CHECK(tp_size_ >= 1, "--tp-size must be at least 1, got {}", tp_size_);
  GENSAR_INPUT_CHECK(world_->size() % tp_size_ == 0,
                     "the world has {} ranks, which is not divisible by --tp-size {}: launch a "
                     "multiple of {} ranks (e.g. mpirun -np {}) or change --tp-size",
                     world_->size(), tp_size_, tp_size_, (world_->size() / tp_size_ + 1) * tp_size_);
  GENSAR_INPUT_CHECK(options.device == "cpu" || options.device == "cuda",
                     "--device must be cpu or cuda, got '{}'", options.device);
  dp_size_ = world_->size() / tp_size_;
  tp_rank_ = world_->rank() % tp_size_;
  dp_rank_ = world_->rank() / tp_size_;
  local_rank_ = dist::local_rank();
  // Color = which group; key = world rank keeps group ranks in world order.
  tp_ = world_->split(/*color=*/dp_rank_, /*key=*/world_->rank());
  dp_ = world_->split(/*color=*/tp_rank_, /*key=*/world_->rank());
  GENSAR_CHECK(tp_->size() == tp_size_ && tp_->rank() == tp_rank_,
               "TP group has {} ranks (rank {}), expected {} (rank {})", tp_->size(), tp_->rank(),
               tp_size_, tp_rank_);
  GENSAR_CHECK(dp_->size() == dp_size_ && dp_->rank() == dp_rank_,
               "DP group has {} ranks (rank {}), expected {} (rank {})", dp_->size(), dp_->rank(),
               dp_size_, dp_rank_);
  if (options.device == "cuda") {
    // Said plainly because the option's help promises more than this: only the mesh's device
    // communicators live on the GPU; no trainer or verb moves the model there.
    GENSAR_WARN("dist", "--device cuda: rank {} builds NCCL communicators on its GPU, but training, "
                "evaluation and inference still run on the CPU (no verb moves the model to the GPU "
                "yet)", world_->rank());
    cuda_device_ = select_cuda_device(local_rank_);
    dp_device_ = make_nccl_communicator(dp_, cuda_device_);
    tp_device_ = make_nccl_communicator(tp_, cuda_device_);
  } else {
    dp_device_ = dp_;
    tp_device_ = tp_;
  }
  GENSAR_INFO("dist", "{}", describe());
}

std::string ProcessMesh::describe() const {
  return fmt::format("mesh: world {} = DP {} x TP {}; rank {} is dp {} tp {}, local rank {}, {}",
                     world_size(), dp_size_, tp_size_, world_rank(), dp_rank_, tp_rank_,
                     local_rank_, cuda_device_ >= 0 ? fmt::format("cuda:{}", cuda_device_) : "cpu");
}

}  // namespace gensar::dist
