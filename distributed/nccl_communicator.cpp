#include "distributed/nccl_communicator.h"

#include "core/common/check.h"
#include "core/common/log.h"
#include "distributed/watchdog.h"

#include <torch/torch.h>

#ifdef GENSAR_HAVE_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>
#include <thread>
#endif

namespace gensar::dist {

#ifndef GENSAR_HAVE_NCCL

bool nccl_available() { return false; }

int select_cuda_device(int) {
  throw InputError(
      "--device cuda needs a build with the NCCL backend: install the CUDA toolkit with nccl.h and "
      "configure with a CUDA LibTorch (see docs/distributed.md)");
}

std::shared_ptr<Communicator> make_nccl_communicator(std::shared_ptr<Communicator>, int) {
  select_cuda_device(0);
  return nullptr;
}

#else

namespace {

void check_cuda(cudaError_t rc, const char* what) {
  GENSAR_CHECK(rc == cudaSuccess, "{} failed: {}", what, cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* what) {
  GENSAR_CHECK(rc == ncclSuccess, "{} failed: {}", what, ncclGetErrorString(rc));
}

ncclDataType_t nccl_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt: return ncclInt32;
    case torch::kLong: return ncclInt64;
    case torch::kChar: return ncclInt8;
    case torch::kByte: return ncclUint8;
    case torch::kBool: return ncclUint8;  // max/min are or/and; a sum stays non-zero below 256 ranks
    default: GENSAR_FAIL("the NCCL communicator does not support dtype {}", c10::toString(type));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}

void check_cuda_contiguous(const torch::Tensor& t, const char* what) {
  GENSAR_CHECK(t.defined() && t.device().is_cuda(), "{}: the NCCL communicator takes CUDA tensors",
               what);
  GENSAR_CHECK(t.is_contiguous(), "{}: tensor must be contiguous", what);
}

class NcclCommunicator;

// One collective in flight on the communicator's stream. wait() orders the default stream after it
// and blocks the host until it completes, under the watchdog (a hung peer aborts the job).
class NcclWork : public Work {
 public:
  NcclWork(cudaEvent_t done, ncclComm_t comm, torch::Tensor keep_alive, std::string where)
      : done_(done), comm_(comm), keep_alive_(std::move(keep_alive)), where_(std::move(where)) {}
  ~NcclWork() override {
    try { wait(); } catch (...) {}
    cudaEventDestroy(done_);
  }
  bool poll() override {
    if (finished_) return true;
    cudaError_t rc = cudaEventQuery(done_);
    if (rc == cudaErrorNotReady) return false;
    check_cuda(rc, "cudaEventQuery");
    finished_ = true;
    return true;
  }
  void wait() override {
    if (finished_) return;
    // The default (legacy) stream is where LibTorch computes unless the caller changed streams.
    check_cuda(cudaStreamWaitEvent(nullptr, done_, 0), "cudaStreamWaitEvent");
    WatchdogScope scope("nccl collective", where_);
    while (!poll()) {
      ncclResult_t async_error = ncclSuccess;
      check_nccl(ncclCommGetAsyncError(comm_, &async_error), "ncclCommGetAsyncError");
      check_nccl(async_error, "NCCL collective");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  cudaEvent_t done_;
  ncclComm_t comm_;
  torch::Tensor keep_alive_;
  std::string where_;
  bool finished_ = false;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(std::shared_ptr<Communicator> bootstrap, int device)
      : bootstrap_(std::move(bootstrap)), device_(device) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    std::memset(&id, 0, sizeof(id));
    if (bootstrap_->rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    std::string bytes = bootstrap_->broadcast_bytes(
        std::string(reinterpret_cast<const char*>(&id), sizeof(id)), 0);
    GENSAR_CHECK(bytes.size() == sizeof(id), "NCCL unique id of {} bytes, expected {}",
                 bytes.size(), sizeof(id));
    std::memcpy(&id, bytes.data(), sizeof(id));
    description_ = fmt::format("nccl communicator of {} ranks (rank {}, cuda:{})",
                               bootstrap_->size(), bootstrap_->rank(), device_);
    {
      WatchdogScope scope("ncclCommInitRank", description_);
      check_nccl(ncclCommInitRank(&comm_, bootstrap_->size(), id, bootstrap_->rank()),
                 "ncclCommInitRank");
    }
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  std::string backend() const override { return "nccl"; }

  void all_reduce(torch::Tensor& tensor, ReduceOp op) override {
    all_reduce_async(tensor, op)->wait();
  }
  std::shared_ptr<Work> all_reduce_async(torch::Tensor& tensor, ReduceOp op) override {
    check_cuda_contiguous(tensor, "all_reduce");
    return launch(tensor, [&] {
      check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                               nccl_type(tensor.scalar_type()), nccl_op(op), comm_, stream_),
                 "ncclAllReduce");
    });
  }
  void broadcast(torch::Tensor& tensor, int root) override {
    check_cuda_contiguous(tensor, "broadcast");
    launch(tensor, [&] {
      check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                               nccl_type(tensor.scalar_type()), root, comm_, stream_),
                 "ncclBroadcast");
    })->wait();
  }
  torch::Tensor all_gather(const torch::Tensor& tensor) override {
    check_cuda_contiguous(tensor, "all_gather");
    std::vector<int64_t> shape = tensor.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] *= size();
    torch::Tensor output = torch::empty(shape, tensor.options());
    launch(output, [&] {
      check_nccl(ncclAllGather(tensor.data_ptr(), output.data_ptr(), tensor.numel(),
                               nccl_type(tensor.scalar_type()), comm_, stream_),
                 "ncclAllGather");
    })->wait();
    return output;
  }
  torch::Tensor reduce_scatter(const torch::Tensor& tensor, ReduceOp op) override {
    check_cuda_contiguous(tensor, "reduce_scatter");
    GENSAR_CHECK(tensor.dim() >= 1 && tensor.size(0) % size() == 0,
                 "reduce_scatter: dim 0 must be divisible by the communicator size {}", size());
    std::vector<int64_t> shape = tensor.sizes().vec();
    shape[0] /= size();
    torch::Tensor output = torch::empty(shape, tensor.options());
    launch(output, [&] {
      check_nccl(ncclReduceScatter(tensor.data_ptr(), output.data_ptr(), output.numel(),
                                   nccl_type(tensor.scalar_type()), nccl_op(op), comm_, stream_),
                 "ncclReduceScatter");
    })->wait();
    return output;
  }
  void barrier() override {
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    bootstrap_->barrier();
  }
  std::string broadcast_bytes(const std::string& bytes, int root) override {
    return bootstrap_->broadcast_bytes(bytes, root);
  }
  std::shared_ptr<Communicator> split(int color, int key) override {
    return make_nccl_communicator(bootstrap_->split(color, key), device_);
  }

 private:
  template <typename Launch>
  std::shared_ptr<Work> launch(const torch::Tensor& keep_alive, Launch&& enqueue) {
    cudaEvent_t ready = nullptr, done = nullptr;
    check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    // Inputs were produced on the default stream: the NCCL stream waits for them.
    check_cuda(cudaEventRecord(ready, nullptr), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, ready, 0), "cudaStreamWaitEvent");
    cudaEventDestroy(ready);
    enqueue();
    check_cuda(cudaEventRecord(done, stream_), "cudaEventRecord");
    return std::make_shared<NcclWork>(done, comm_, keep_alive, description_);
  }

  std::shared_ptr<Communicator> bootstrap_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::string description_;
};

}  // namespace

bool nccl_available() { return true; }

int select_cuda_device(int local_rank) {
  int count = 0;
  cudaError_t rc = cudaGetDeviceCount(&count);
  GENSAR_INPUT_CHECK(rc == cudaSuccess && count > 0,
                     "--device cuda: no CUDA device visible to local rank {} ({})", local_rank,
                     rc == cudaSuccess ? "0 devices" : cudaGetErrorString(rc));
  int device = local_rank % count;
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  return device;
}

std::shared_ptr<Communicator> make_nccl_communicator(std::shared_ptr<Communicator> bootstrap,
                                                     int device) {
  return std::make_shared<NcclCommunicator>(std::move(bootstrap), device);
}

#endif

}  // namespace gensar::dist
