// An in-process communicator over threads (one thread per rank) for testing tensor-parallel code
// without a launcher: every collective is a rendezvous of all ranks on a shared exchange area.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/common/check.h"
#include "distributed/communicator.h"

namespace gensar::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(size) {}
  int size() const { return size_; }

  // Deposits `t` for `rank`, waits for all ranks, returns every rank's tensor (rank order).
  std::vector<torch::Tensor> exchange(int rank, const torch::Tensor& t) {
    slots_[rank] = t;
    arrive();
    std::vector<torch::Tensor> all = slots_;
    arrive();  // nobody overwrites a slot before everyone has read them
    return all;
  }

 private:
  void arrive() {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }

  int size_;
  std::vector<torch::Tensor> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

class ThreadCommunicator : public dist::Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadGroup> group, int rank)
      : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  std::string backend() const override { return "threads"; }

  void all_reduce(torch::Tensor& tensor, dist::ReduceOp op) override {
    auto all = group_->exchange(rank_, tensor.clone());
    torch::Tensor acc = all[0].clone();
    for (size_t i = 1; i < all.size(); ++i) {
      if (op == dist::ReduceOp::kSum) acc += all[i];
      if (op == dist::ReduceOp::kMax) acc = torch::maximum(acc, all[i]);
      if (op == dist::ReduceOp::kMin) acc = torch::minimum(acc, all[i]);
    }
    tensor.copy_(acc);
  }
  std::shared_ptr<dist::Work> all_reduce_async(torch::Tensor& tensor, dist::ReduceOp op) override {
    all_reduce(tensor, op);
    struct Done : dist::Work {
      void wait() override {}
    };
    return std::make_shared<Done>();
  }
  void broadcast(torch::Tensor& tensor, int root) override {
    auto all = group_->exchange(rank_, tensor.clone());
    tensor.copy_(all[root]);
  }
  torch::Tensor all_gather(const torch::Tensor& tensor) override {
    return torch::cat(group_->exchange(rank_, tensor.clone()), 0);
  }
  torch::Tensor reduce_scatter(const torch::Tensor& tensor, dist::ReduceOp op) override {
    torch::Tensor t = tensor.clone();
    all_reduce(t, op);
    return t.chunk(size(), 0)[rank_].clone();
  }
  void barrier() override { group_->exchange(rank_, torch::Tensor()); }
  std::string broadcast_bytes(const std::string&, int) override {
    GENSAR_FAIL("ThreadCommunicator does not carry bytes");
  }
  std::shared_ptr<dist::Communicator> split(int, int) override {
    GENSAR_FAIL("ThreadCommunicator does not split");
  }

 private:
  std::shared_ptr<ThreadGroup> group_;
  int rank_;
};

}  // namespace gensar::testing
