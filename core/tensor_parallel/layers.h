// Megatron tensor-parallel layers (Megatron-LM core/tensor_parallel/layers.py). With a null or
// size-1 TP communicator they are plain linear / embedding layers. Each declares the dim its weight
// is split along when it is created (core/tensor_parallel/partition.h).
//   ColumnParallelLinear: weight [out/tp, in], output sharded on its last dim (no gather).
//   RowParallelLinear:    weight [out, in/tp], input sharded on its last dim, output all-reduced.
//   VocabParallelEmbedding: weight [V/tp, d], rows [rank*V/tp, (rank+1)*V/tp) live here.
// Layers carry no biases (T5 has none).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/tensor_parallel/mappings.h"
#include "core/tensor_parallel/partition.h"

namespace gensar::tp {

struct ParallelContext {
  CommunicatorPtr tp;  // null = single process
  int rank() const { return tp_rank(tp); }
  int size() const { return tp_size(tp); }
};

class ColumnParallelLinearImpl : public torch::nn::Module, public PartitionedParameters {
 public:
  ColumnParallelLinearImpl(int64_t in, int64_t out, ParallelContext ctx);
  // `x` replicated; enters the TP region here (all-reduce of its gradient in backward).
  torch::Tensor forward(const torch::Tensor& x);
  // `x` already passed through copy_to_tp_region (several layers sharing one input share one
  // gradient all-reduce).
  torch::Tensor forward_in_region(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  ParallelContext ctx_;
};
TORCH_MODULE(ColumnParallelLinear);

class RowParallelLinearImpl : public torch::nn::Module, public PartitionedParameters {
 public:
  RowParallelLinearImpl(int64_t in, int64_t out, ParallelContext ctx);
  torch::Tensor forward(const torch::Tensor& x_local);
  torch::Tensor weight;

 private:
  ParallelContext ctx_;
};
TORCH_MODULE(RowParallelLinear);

class VocabParallelEmbeddingImpl : public torch::nn::Module, public PartitionedParameters {
 public:
  VocabParallelEmbeddingImpl(int64_t vocab, int64_t dim, ParallelContext ctx);
  torch::Tensor forward(const torch::Tensor& ids);
  // Vocab-parallel logits [..., V/tp] of hidden states `h` [..., d] against this weight.
  torch::Tensor logits(const torch::Tensor& h);
  int64_t vocab_start() const { return vocab_start_; }
  int64_t local_vocab() const { return local_vocab_; }
  torch::Tensor weight;

 private:
  ParallelContext ctx_;
  int64_t vocab_start_ = 0;
  int64_t local_vocab_ = 0;
};
TORCH_MODULE(VocabParallelEmbedding);

}  // namespace gensar::tp
