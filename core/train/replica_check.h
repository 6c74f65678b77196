// --check-replicas-every: data-parallel replicas must hold bit-identical parameters (same initial
// weights, same all-reduced gradients, same optimiser). Silent divergence (a rank that skipped an
// update, a nondeterministic reduction, bad memory) would otherwise only show up as worse metrics.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

#include "distributed/communicator.h"

namespace gensar::train {

// Collective over `dp` (one all-reduce of two int64 per parameter). Every DP rank of a TP rank holds
// the same shards, so every parameter is compared. Throws gensar::Error on every rank, naming the
// first parameter (in registration order) whose replicas differ, when any do.
void check_replicas_agree(const torch::nn::Module& model, dist::Communicator& dp, int64_t step);

}  // namespace gensar::train
