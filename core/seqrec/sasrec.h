// SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018) in LibTorch.
//
// A causal Transformer over a user's recommendation clicks: item embeddings (scaled by sqrt(d)) +
// learned positions, `blocks` pre-LN blocks (single- or multi-head causal self-attention, then a
// point-wise ReLU FFN, both residual), a final LayerNorm; the score of item j after position t is
// the dot product of the hidden state with item j's embedding (input and output share the table).
// Outside this file items are the dataset's dense indices 0..I-1; inside, 0 is padding and item i
// is row i+1 of the table. See docs/sasrec.md for the settings and why.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gensar::seqrec {

struct SasRecConfig {
  int64_t num_items = 0;   // I: catalogue size (dense items 0..I-1)
  int64_t max_len = 50;    // positions; longer histories keep their most recent max_len items
  int64_t hidden = 64;
  int64_t blocks = 2;
  int64_t heads = 1;
  double dropout = 0.2;    // the paper uses 0.5 on sparse data (Amazon), 0.2 on dense (ML-1M)
  std::string loss = "bce";  // "bce": one sampled negative per position (the paper); "ce": full softmax

  void validate() const;  // throws InputError naming the bad field
  std::string to_json() const;
  static SasRecConfig from_json(const std::string& json);
};

// The training inputs of one (micro-)batch, built by the caller (see sasrec_trainer.h).
struct SasRecBatch {
  torch::Tensor inputs;     // int64 [B, L] internal ids (0 = pad), left-padded, oldest first
  torch::Tensor positives;  // int64 [B, L] next item at each position (0 = no target)
  torch::Tensor negatives;  // int64 [B, L] one sampled negative per target (bce only; 0 elsewhere)
};

class SasRec {
 public:
  SasRec(const SasRecConfig& config, uint64_t seed);
  ~SasRec();
  SasRec(SasRec&&) noexcept;
  SasRec& operator=(SasRec&&) noexcept;

  const SasRecConfig& config() const { return config_; }

  // Hidden states [B, L, hidden] of a left-padded input batch.
  torch::Tensor encode(const torch::Tensor& inputs);
  // Sum over target positions of the per-position loss, and the number of target positions
  // (so that data-parallel ranks can normalise by the global count).
  std::pair<torch::Tensor, int64_t> loss_sum(const SasRecBatch& batch);

  // Scores of `candidates` (dense items) as the next item after `history` (dense items, oldest
  // first). Eval mode, no gradient. Returns float32 [candidates.size()].
  torch::Tensor score(const std::vector<int64_t>& history, const std::vector<int64_t>& candidates);
  // Scores of every item 0..I-1: float32 [I].
  torch::Tensor score_all(const std::vector<int64_t>& history);
  // Batched full-catalogue scores: float32 [histories.size(), I].
  torch::Tensor score_all_batch(const std::vector<std::vector<int64_t>>& histories);

  // The item embedding table without the padding row: float32 [I, hidden].
  torch::Tensor item_embeddings();

  std::vector<torch::Tensor> parameters();
  void train(bool on);

  // Weights + config in one file (torch serialisation); load restores both.
  void save(const std::string& path);
  static SasRec load(const std::string& path);

 private:
  torch::Tensor left_pad(const std::vector<std::vector<int64_t>>& histories) const;
  struct Net;
  SasRecConfig config_;
  std::unique_ptr<Net> net_;
};

}  // namespace gensar::seqrec
