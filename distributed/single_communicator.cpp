// The one-rank communicator: every collective is the identity, so all code paths run unlaunched.
#include "core/common/check.h"
#include "distributed/communicator.h"

#include <torch/torch.h>

namespace gensar::dist {
namespace {

class DoneWork : public Work {
 public:
  void wait() override {}
  bool poll() override { return true; }
};

class SingleProcessCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_reduce(torch::Tensor&, ReduceOp) override {}
  std::shared_ptr<Work> all_reduce_async(torch::Tensor&, ReduceOp) override {
    return std::make_shared<DoneWork>();
  }
  void broadcast(torch::Tensor&, int root) override {
    GENSAR_CHECK(root == 0, "broadcast root {} on a single-process communicator", root);
  }
  torch::Tensor all_gather(const torch::Tensor& tensor) override { return tensor.clone(); }
  torch::Tensor reduce_scatter(const torch::Tensor& tensor, ReduceOp) override {
    return tensor.clone();
  }
  void barrier() override {}
  std::string broadcast_bytes(const std::string& bytes, int) override { return bytes; }
  std::shared_ptr<Communicator> split(int, int) override {
    return std::make_shared<SingleProcessCommunicator>();
  }
};

}  // namespace

std::shared_ptr<Communicator> single_process_communicator() {
  return std::make_shared<SingleProcessCommunicator>();
}

}  // namespace gensar::dist
