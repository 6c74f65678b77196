#include "core/tensor_parallel/partition.h"

namespace gensar::tp {
namespace {

void add_own_parameters(const std::string& prefix, const torch::nn::Module& module,
                        std::map<std::string, int>& out) {
  const auto* declared = dynamic_cast<const PartitionedParameters*>(&module);
  for (const auto& item : module.named_parameters(/*recurse=*/false)) {
    int dim = kReplicated;
    if (declared) {
      auto it = declared->partition_dims().find(item.key());
      if (it != declared->partition_dims().end()) dim = it->second;
    }
    out[prefix.empty() ? item.key() : prefix + "." + item.key()] = dim;
  }
}

}  // namespace

torch::Tensor& PartitionedParameters::register_partitioned(torch::nn::Module& self,
                                                           const std::string& name,
                                                           torch::Tensor value, int dim) {
  dims_[name] = dim;
  return self.register_parameter(name, std::move(value));
}

std::map<std::string, int> collect_partition_dims(const torch::nn::Module& root) {
  std::map<std::string, int> out;
  // include_self = false: naming the root needs shared_from_this, unavailable in a constructor.
  add_own_parameters("", root, out);
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    add_own_parameters(item.key(), *item.value(), out);
  return out;
}

}  // namespace gensar::tp
