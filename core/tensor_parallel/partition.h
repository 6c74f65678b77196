// Which dim of a parameter is split over TP ranks, declared by the layer that creates it.
//
// A tensor-parallel layer registers its split parameters through PartitionedParameters, naming the
// dim they are split along; collect_partition_dims() turns those declarations into full parameter
// names for a whole model. Every parameter not declared this way is replicated (-1). Checkpoints,
// the trainer's gradient groups and checkpoint conversion ask the model, never the parameter name.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <string>

namespace gensar::tp {

// Partition dim of a replicated parameter.
inline constexpr int kReplicated = -1;

// Mixed into a layer whose parameters are split over TP ranks.
class PartitionedParameters {
 public:
  virtual ~PartitionedParameters() = default;
  // This layer's own parameter name -> the dim it is split along.
  const std::map<std::string, int>& partition_dims() const { return dims_; }

 protected:
  // register_parameter on `self`, recording that `name` is split along `dim` over TP ranks.
  torch::Tensor& register_partitioned(torch::nn::Module& self, const std::string& name,
                                      torch::Tensor value, int dim);

 private:
  std::map<std::string, int> dims_;
};

// Full parameter name -> partition dim (kReplicated if no layer declared one) of every parameter
// under `root`. Does not need `root` to be owned by a shared_ptr (usable in a constructor).
std::map<std::string, int> collect_partition_dims(const torch::nn::Module& root);

}  // namespace gensar::tp
