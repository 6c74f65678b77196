// The communicator: collectives on tensors plus sub-communicators for DP and TP groups.
//
// Backends: SingleProcess (every code path runs without a launcher), MPI (CPU tensors, bootstrap and
// control messages) and NCCL (GPU tensors; unique id broadcast over MPI; own CUDA stream).
// All collectives are called by every rank of the communicator in the same order. A collective that
// does not complete within the configured timeout aborts the process loudly instead of hanging.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>

namespace gensar::dist {

enum class ReduceOp { kSum, kMax, kMin };

// A launched asynchronous collective. wait() blocks until the result is in the tensor.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  // Non-blocking: drives progress and says whether the result is in place. Added (with a default)
  // because MPI has no progress thread here: the gradient reducer polls launched buckets from its
  // hooks so their all-reduce advances while backward still computes.
  virtual bool poll() { return false; }
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl"

  // In place on `tensor` (contiguous).
  virtual void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  virtual std::shared_ptr<Work> all_reduce_async(torch::Tensor& tensor,
                                                 ReduceOp op = ReduceOp::kSum) = 0;
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  // Concatenates every rank's `tensor` along dim 0 in rank order (all ranks give equal shapes).
  virtual torch::Tensor all_gather(const torch::Tensor& tensor) = 0;
  // Reduces `tensor` across ranks, then returns this rank's slice of dim 0 (size divisible by size()).
  virtual torch::Tensor reduce_scatter(const torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  virtual void barrier() = 0;

  // Control plane: bytes from `root` to all ranks (configs, paths, decisions).
  virtual std::string broadcast_bytes(const std::string& bytes, int root) = 0;

  // Ranks with the same color form a group, ordered by key (MPI_Comm_split semantics).
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;
};

// The world communicator for this process: MPI when launched by mpirun/srun with more than one
// rank (or when forced), otherwise single-process. Safe to call repeatedly (returns the same one).
std::shared_ptr<Communicator> world();

// A communicator of one rank (what world() returns without a launcher); also used by baselines.
std::shared_ptr<Communicator> single_process_communicator();

// Whether the environment says this process is one of several ranks (OpenMPI, PMIx, Slurm).
bool launched_with_multiple_ranks();

// Process placement from the launcher: index of this process on its node and ranks on the node.
int local_rank();
int local_size();

}  // namespace gensar::dist
