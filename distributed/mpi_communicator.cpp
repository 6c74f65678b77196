#include "distributed/mpi_communicator.h"

#include "core/common/check.h"
#include "core/common/log.h"
#include "distributed/watchdog.h"

#include <torch/torch.h>

#include <climits>
#include <cstdlib>
#include <mutex>

namespace gensar::dist {
namespace {

int g_thread_level = MPI_THREAD_SINGLE;

void mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  // MPI_Finalize can block on a peer that died: keep the watchdog on it.
  WatchdogScope scope("MPI_Finalize", "mpi world");
  MPI_Finalize();
}

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  GENSAR_FAIL("{} failed: {}", what, std::string(text, length));
}

// MPI has no half types: those tensors travel as float and are copied back.
bool needs_float_staging(const torch::Tensor& t) {
  return t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16;
}

MPI_Datatype mpi_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return MPI_FLOAT;
    case torch::kDouble: return MPI_DOUBLE;
    case torch::kInt: return MPI_INT32_T;
    case torch::kLong: return MPI_INT64_T;
    case torch::kShort: return MPI_INT16_T;
    case torch::kChar: return MPI_INT8_T;
    case torch::kByte: return MPI_UINT8_T;
    case torch::kBool: return MPI_C_BOOL;
    default: GENSAR_FAIL("the MPI communicator does not support dtype {}", c10::toString(type));
  }
}

// MPI forbids arithmetic ops on MPI_C_BOOL: sum/max are logical or, min is logical and.
MPI_Op mpi_op(ReduceOp op, torch::ScalarType type) {
  if (type == torch::kBool) return op == ReduceOp::kMin ? MPI_LAND : MPI_LOR;
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

int checked_count(const torch::Tensor& t) {
  GENSAR_CHECK(t.numel() <= INT_MAX, "tensor of {} elements exceeds one MPI call", t.numel());
  return static_cast<int>(t.numel());
}

void check_cpu_contiguous(const torch::Tensor& t, const char* what) {
  GENSAR_CHECK(t.defined(), "{}: undefined tensor", what);
  GENSAR_CHECK(t.device().is_cpu(), "{}: the MPI communicator takes CPU tensors, got {}", what,
               t.device().str());
  GENSAR_CHECK(t.is_contiguous(), "{}: tensor must be contiguous", what);
}

class MpiWork : public Work {
 public:
  MpiWork(torch::Tensor tensor, torch::Tensor staged, MPI_Request request, std::string where)
      : tensor_(std::move(tensor)), staged_(std::move(staged)), request_(request),
        where_(std::move(where)) {}
  ~MpiWork() override {
    if (!done_) {
      // Never leave a request in flight on a buffer that may be freed.
      try { wait(); } catch (...) {}
    }
  }
  void wait() override {
    if (done_) return;
    {
      WatchdogScope scope("all_reduce_async.wait", where_);
      check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
    }
    finish();
  }
  bool poll() override {
    if (done_) return true;
    int flag = 0;
    check_mpi(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) finish();
    return done_;
  }

 private:
  void finish() {
    done_ = true;
    if (staged_.defined()) tensor_.copy_(staged_);
  }
  torch::Tensor tensor_;
  torch::Tensor staged_;
  MPI_Request request_;
  std::string where_;
  bool done_ = false;
};

}  // namespace

void ensure_mpi_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = MPI_THREAD_SINGLE;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
      std::atexit(finalize_mpi);
    }
    MPI_Query_thread(&g_thread_level);
    // Hooks may run on autograd's thread: at least serialized calls from any thread are required.
    GENSAR_CHECK(g_thread_level >= MPI_THREAD_SERIALIZED,
                 "MPI provides thread level {}, gensar needs MPI_THREAD_SERIALIZED or more",
                 g_thread_level);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    set_abort_function(mpi_abort);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    log::set_rank(rank);
  });
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  description_ = fmt::format("mpi communicator of {} ranks (rank {} here, world rank {})", size_,
                             rank_, world_rank);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::all_reduce(torch::Tensor& tensor, ReduceOp op) {
  check_cpu_contiguous(tensor, "all_reduce");
  torch::Tensor buffer = needs_float_staging(tensor) ? tensor.to(torch::kFloat) : tensor;
  {
    WatchdogScope scope("all_reduce", description_);
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr(), checked_count(buffer),
                            mpi_type(buffer.scalar_type()), mpi_op(op, buffer.scalar_type()), comm_),
              "MPI_Allreduce");
  }
  if (!buffer.is_same(tensor)) tensor.copy_(buffer);
}

std::shared_ptr<Work> MpiCommunicator::all_reduce_async(torch::Tensor& tensor, ReduceOp op) {
  check_cpu_contiguous(tensor, "all_reduce_async");
  torch::Tensor staged;
  if (needs_float_staging(tensor)) staged = tensor.to(torch::kFloat);
  torch::Tensor& buffer = staged.defined() ? staged : tensor;
  MPI_Request request;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer.data_ptr(), checked_count(buffer),
                           mpi_type(buffer.scalar_type()), mpi_op(op, buffer.scalar_type()), comm_,
                           &request),
            "MPI_Iallreduce");
  return std::make_shared<MpiWork>(tensor, staged, request, description_);
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  check_cpu_contiguous(tensor, "broadcast");
  GENSAR_CHECK(root >= 0 && root < size_, "broadcast root {} outside [0, {})", root, size_);
  torch::Tensor buffer = needs_float_staging(tensor) ? tensor.to(torch::kFloat) : tensor;
  {
    WatchdogScope scope("broadcast", description_);
    check_mpi(MPI_Bcast(buffer.data_ptr(), checked_count(buffer), mpi_type(buffer.scalar_type()),
                        root, comm_),
              "MPI_Bcast");
  }
  if (!buffer.is_same(tensor)) tensor.copy_(buffer);
}

torch::Tensor MpiCommunicator::all_gather(const torch::Tensor& tensor) {
  check_cpu_contiguous(tensor, "all_gather");
  torch::Tensor input = needs_float_staging(tensor) ? tensor.to(torch::kFloat) : tensor;
  std::vector<int64_t> shape = input.sizes().vec();
  if (shape.empty()) shape.push_back(1);
  shape[0] *= size_;
  torch::Tensor output = torch::empty(shape, input.options());
  {
    WatchdogScope scope("all_gather", description_);
    MPI_Datatype type = mpi_type(input.scalar_type());
    check_mpi(MPI_Allgather(input.data_ptr(), checked_count(input), type, output.data_ptr(),
                            checked_count(input), type, comm_),
              "MPI_Allgather");
  }
  return output.to(tensor.scalar_type());
}

torch::Tensor MpiCommunicator::reduce_scatter(const torch::Tensor& tensor, ReduceOp op) {
  check_cpu_contiguous(tensor, "reduce_scatter");
  GENSAR_CHECK(tensor.dim() >= 1 && tensor.size(0) % size_ == 0,
               "reduce_scatter: dim 0 ({}) must be divisible by the communicator size {}",
               tensor.dim() ? tensor.size(0) : 0, size_);
  torch::Tensor input = needs_float_staging(tensor) ? tensor.to(torch::kFloat) : tensor;
  std::vector<int64_t> shape = input.sizes().vec();
  shape[0] /= size_;
  torch::Tensor output = torch::empty(shape, input.options());
  {
    WatchdogScope scope("reduce_scatter", description_);
    check_mpi(MPI_Reduce_scatter_block(input.data_ptr(), output.data_ptr(), checked_count(output),
                                       mpi_type(input.scalar_type()),
                                       mpi_op(op, input.scalar_type()), comm_),
              "MPI_Reduce_scatter_block");
  }
  return output.to(tensor.scalar_type());
}

void MpiCommunicator::barrier() {
  WatchdogScope scope("barrier", description_);
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

std::string MpiCommunicator::broadcast_bytes(const std::string& bytes, int root) {
  GENSAR_CHECK(root >= 0 && root < size_, "broadcast_bytes root {} outside [0, {})", root, size_);
  WatchdogScope scope("broadcast_bytes", description_);
  long long length = rank_ == root ? static_cast<long long>(bytes.size()) : 0;
  check_mpi(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, comm_), "MPI_Bcast(length)");
  GENSAR_CHECK(length <= INT_MAX, "broadcast_bytes of {} bytes exceeds one MPI call", length);
  std::string out = rank_ == root ? bytes : std::string(static_cast<size_t>(length), '\0');
  if (length > 0) {
    check_mpi(MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, root, comm_),
              "MPI_Bcast(bytes)");
  }
  return out;
}

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  // Every rank must land in some group (no MPI_UNDEFINED): a rank without a communicator would
  // have nothing to call the next collective on.
  GENSAR_CHECK(color >= 0, "split color must be >= 0, got {}", color);
  MPI_Comm sub = MPI_COMM_NULL;
  {
    WatchdogScope scope("split", description_);
    check_mpi(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split");
  }
  return std::make_shared<MpiCommunicator>(sub);
}

}  // namespace gensar::dist
