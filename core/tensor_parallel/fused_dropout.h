// Dropout fused with the activation in front of it, for the two places where the dropped tensor is
// the largest of the step: attention probabilities [B, heads, T, S] (softmax, then dropout) and the
// FFN's hidden units [B, T, d_ff] (ReLU, then dropout). The composed ops store a float mask and make
// separate passes for the mask, the product and each backward; the fused autograd functions compute
// the mask (KeepMask) where they use it and keep nothing but what backward needs:
// - softmax_dropout keeps the probabilities (as softmax alone does) and its output (which the next
//   matmul keeps anyway): the mask is where the output is non-zero;
// - relu_dropout keeps only its output: the gradient passes where the output is positive.
// The loops are vectorised per CPU at load time (core/common/vector_clones.h).
// Both draw their mask from the same stream at the same point as the composed ops, so the masks, the
// forward values and checkpoints' RNG states are identical; the softmax backward sums in its own
// order (equal to rounding). TP regions that draw full masks and slice them use the composed ops.
#pragma once

#include <torch/types.h>

#include "core/tensor_parallel/dropout_rng.h"

namespace gensar::tp {

// dropout(softmax(scores, -1)) where dropout is sharded_dropout(.., dim, tp_rank, tp_size).
torch::Tensor sharded_softmax_dropout(const torch::Tensor& scores, double p, bool train,
                                      DropoutRng& rng, int64_t dim, int tp_rank, int tp_size);

// dropout(relu(x)) where dropout is sharded_dropout(.., dim, tp_rank, tp_size).
torch::Tensor sharded_relu_dropout(const torch::Tensor& x, double p, bool train, DropoutRng& rng,
                                   int64_t dim, int tp_rank, int tp_size);

// On by default; bench_train switches it off to time the composed ops in the same process.
void set_dropout_fusion(bool enabled);
bool dropout_fusion();

}  // namespace gensar::tp
