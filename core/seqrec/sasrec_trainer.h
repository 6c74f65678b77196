// Training SASRec on users' recommendation sequences, data-parallel when given a communicator.
//
// One sample = one user (as in the paper): per epoch every user with at least two training items
// contributes its most recent max_len+1 items once, in the stateless (seed, epoch) sample order of
// data_pipeline/sample_order.h, sliced by DP rank. Negatives are drawn per (seed, epoch, user), so a
// batch's content does not depend on the number of ranks or on prefetching.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/seqrec/sasrec.h"

namespace gensar::data {
class Dataset;
}
namespace gensar::dist {
class Communicator;
}

namespace gensar::seqrec {

struct SasRecTrainOptions {
  int64_t epochs = 50;
  int64_t batch_size = 128;  // global: users per optimiser step across all DP ranks
  double lr = 1e-3;          // Adam, betas (0.9, 0.98) as in the paper
  uint64_t seed = 42;
  int prefetch = 2;          // batches built ahead on the reader thread
};

struct SasRecTrainReport {
  int64_t steps = 0;
  int64_t samples = 0;       // global samples consumed
  double seconds = 0.0;
  std::vector<double> epoch_losses;  // mean per-target loss of each epoch (global)
};

// The training part of each user's recommendation sequence, dense items oldest first, indexed by
// global user index. It ends before the first held-out example of the user (rec or search,
// validation or test; and before the rec click of that example's interaction), so SASRec, and the
// identifiers built from its embeddings, never see a validation or test target.
std::vector<std::vector<int32_t>> training_rec_sequences(const data::Dataset& dataset);

// The batch of `users` (indices into `sequences`) for `epoch`.
SasRecBatch build_sasrec_batch(const SasRecConfig& config,
                               const std::vector<std::vector<int32_t>>& sequences,
                               const std::vector<int64_t>& users, uint64_t seed, int64_t epoch);

// Trains `model` in place. `comm` may be null (single process). Every rank passes the same
// sequences and options.
SasRecTrainReport train_sasrec(SasRec& model, const std::vector<std::vector<int32_t>>& sequences,
                               const SasRecTrainOptions& options, dist::Communicator* comm);

}  // namespace gensar::seqrec
