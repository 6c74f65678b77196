#include "data_pipeline/ingest_comm.h"

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace gensar::data {

IngestComm::IngestComm(std::shared_ptr<dist::Communicator> comm) : comm_(std::move(comm)) {}

int IngestComm::rank() const { return comm_->rank(); }

int IngestComm::size() const { return comm_->size(); }

std::string IngestComm::broadcast(const std::string& bytes, int root) {
  return comm_->broadcast_bytes(bytes, root);
}

bool IngestComm::all_ok(bool ok) {
  torch::Tensor flag = torch::full({1}, ok ? 1 : 0, torch::kInt);
  comm_->all_reduce(flag, dist::ReduceOp::kMin);
  return flag.item<int>() == 1;
}

std::unique_ptr<IngestComm> single_ingest_comm() {
  return std::make_unique<IngestComm>(dist::single_process_communicator());
}

std::unique_ptr<IngestComm> world_ingest_comm() { return std::make_unique<IngestComm>(dist::world()); }

}  // namespace gensar::data
