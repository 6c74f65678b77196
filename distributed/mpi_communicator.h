// The MPI backend: collectives on contiguous CPU tensors, in place; asynchronous all-reduce through
// MPI_Iallreduce; control messages; sub-communicators through MPI_Comm_split. Every blocking call
// runs under the collective watchdog.
#pragma once

#include "distributed/communicator.h"

#include <mpi.h>

namespace gensar::dist {

class MpiCommunicator : public Communicator {
 public:
  // Takes ownership of `comm` (freed on destruction unless it is MPI_COMM_WORLD).
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce(torch::Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> all_reduce_async(torch::Tensor& tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  torch::Tensor all_gather(const torch::Tensor& tensor) override;
  torch::Tensor reduce_scatter(const torch::Tensor& tensor, ReduceOp op) override;
  void barrier() override;
  std::string broadcast_bytes(const std::string& bytes, int root) override;
  std::shared_ptr<Communicator> split(int color, int key) override;

  MPI_Comm comm() const { return comm_; }
  const std::string& description() const { return description_; }

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::string description_;
};

// Initialises MPI once (MPI_THREAD_MULTIPLE requested: the watchdog may call MPI_Abort while the
// main thread is blocked in a collective) and registers MPI_Finalize at exit.
void ensure_mpi_initialized();

}  // namespace gensar::dist
