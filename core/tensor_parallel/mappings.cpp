#include "core/tensor_parallel/mappings.h"

#include <torch/torch.h>

#include "core/common/check.h"

namespace gensar::tp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Autograd contexts only hold IValues; a capsule carries the communicator into backward.
struct CommunicatorHolder : torch::CustomClassHolder {
  explicit CommunicatorHolder(CommunicatorPtr c) : comm(std::move(c)) {}
  CommunicatorPtr comm;
};

void save_comm(AutogradContext* ctx, const CommunicatorPtr& comm) {
  ctx->saved_data["comm"] =
      c10::IValue::make_capsule(c10::make_intrusive<CommunicatorHolder>(comm));
}

CommunicatorPtr load_comm(AutogradContext* ctx) {
  auto capsule = ctx->saved_data["comm"].toCapsule();
  return static_cast<CommunicatorHolder*>(capsule.get())->comm;
}

torch::Tensor all_reduce_sum(const torch::Tensor& x, dist::Communicator& comm) {
  torch::Tensor out = x.contiguous().clone();
  comm.all_reduce(out, dist::ReduceOp::kSum);
  return out;
}

int64_t normalise_dim(int64_t dim, int64_t rank) { return dim < 0 ? dim + rank : dim; }

torch::Tensor local_slice(const torch::Tensor& x, dist::Communicator& comm, int64_t dim) {
  const int64_t full = x.size(dim);
  GENSAR_CHECK(full % comm.size() == 0, "dim {} of size {} does not split over {} TP ranks", dim,
               full, comm.size());
  const int64_t part = full / comm.size();
  return x.narrow(dim, comm.rank() * part, part).contiguous();
}

struct CopyToTp : torch::autograd::Function<CopyToTp> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, CommunicatorPtr comm) {
    save_comm(ctx, comm);
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {all_reduce_sum(grad[0], *load_comm(ctx)), torch::Tensor()};
  }
};

struct ReduceFromTp : torch::autograd::Function<ReduceFromTp> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& x, CommunicatorPtr comm) {
    return all_reduce_sum(x, *comm);
  }
  static variable_list backward(AutogradContext*, variable_list grad) {
    return {grad[0], torch::Tensor()};
  }
};

struct GatherFromTp : torch::autograd::Function<GatherFromTp> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, CommunicatorPtr comm,
                               int64_t dim) {
    save_comm(ctx, comm);
    ctx->saved_data["dim"] = dim;
    return all_gather_along(x, *comm, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto comm = load_comm(ctx);
    return {local_slice(grad[0], *comm, ctx->saved_data["dim"].toInt()), torch::Tensor(),
            torch::Tensor()};
  }
};

struct ScatterToTp : torch::autograd::Function<ScatterToTp> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, CommunicatorPtr comm,
                               int64_t dim) {
    save_comm(ctx, comm);
    ctx->saved_data["dim"] = dim;
    return local_slice(x, *comm, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto comm = load_comm(ctx);
    return {all_gather_along(grad[0], *comm, ctx->saved_data["dim"].toInt()), torch::Tensor(),
            torch::Tensor()};
  }
};

bool is_identity(const CommunicatorPtr& tp) { return !tp || tp->size() == 1; }

}  // namespace

torch::Tensor all_gather_along(const torch::Tensor& x, dist::Communicator& comm, int64_t dim) {
  dim = normalise_dim(dim, x.dim());
  if (comm.size() == 1) return x;
  if (dim == 0) return comm.all_gather(x.contiguous());
  // The communicator concatenates along dim 0: bring `dim` to the front and back again.
  torch::Tensor gathered = comm.all_gather(x.transpose(0, dim).contiguous());
  return gathered.transpose(0, dim).contiguous();
}

torch::Tensor all_reduce_max(const torch::Tensor& x, const CommunicatorPtr& tp) {
  if (is_identity(tp)) return x;
  torch::Tensor out = x.detach().contiguous().clone();
  tp->all_reduce(out, dist::ReduceOp::kMax);
  return out;
}

torch::Tensor copy_to_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp) {
  if (is_identity(tp)) return x;
  return CopyToTp::apply(x, tp);
}

torch::Tensor reduce_from_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp) {
  if (is_identity(tp)) return x;
  return ReduceFromTp::apply(x, tp);
}

torch::Tensor gather_from_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp,
                                    int64_t dim) {
  if (is_identity(tp)) return x;
  return GatherFromTp::apply(x, tp, normalise_dim(dim, x.dim()));
}

torch::Tensor scatter_to_tp_region(const torch::Tensor& x, const CommunicatorPtr& tp,
                                   int64_t dim) {
  if (is_identity(tp)) return x;
  return ScatterToTp::apply(x, tp, normalise_dim(dim, x.dim()));
}

}  // namespace gensar::tp
