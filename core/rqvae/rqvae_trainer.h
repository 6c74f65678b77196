// `gensar index` as a library call: train the joint RQ-VAE on aligned semantic + collaborative
// embeddings, assign and de-collide identifiers, report codebook health, write identifiers.h5.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rqvae/embedding_table.h"
#include "core/rqvae/identifiers.h"

namespace gensar::dist {
class Communicator;
}

namespace gensar::rqvae {

enum class IdMode { kJoint, kSemanticOnly, kCollabOnly };
IdMode parse_id_mode(const std::string& name);  // joint | semantic-only | collab-only
std::string id_mode_name(IdMode mode);

struct RqvaeOptions {
  std::vector<int64_t> hidden = {512, 256, 128, 64, 32};
  std::vector<int64_t> shared_codes = {256, 256};  // empty: no shared levels (--no-shared)
  std::vector<int64_t> sem_codes = {256, 256};
  std::vector<int64_t> col_codes = {256, 256};
  double beta = 0.25, sem_recon_weight = 1.0, col_recon_weight = 1.0, vq_weight = 1.0;
  double sinkhorn_epsilon = 0.003;  // <= 0 disables Sinkhorn on the last specific level in training
  int sinkhorn_iterations = 50;
  int epochs = 100, warmup_epochs = 10;
  // > 0: the training budget in optimiser steps (epochs then follow from the batch size, and the
  // warm-up keeps the warmup_epochs / epochs share). With a small catalogue an epoch is a handful
  // of steps, so a budget in epochs says little about how far the model trained.
  int64_t steps = 0;
  // Each input dimension z-scored over the items before training, so neither side's scale (unit
  // text vectors vs raw SASRec vectors) decides the shared levels; reconstruction MSEs are then in
  // units of each side's variance and comparable.
  bool standardize = true;
  // Every N steps, codes unused since the last re-seed take the residual of a random batch row at
  // their level (0 = off); stops after 80% of the steps so the codebooks settle.
  int reseed_every = 100;
  // Kept checkpoint: "recon" (lowest summed reconstruction MSE, the default) or "collision"
  // (lowest mean collision rate, the reference's rule; the suffix token makes IDs unique anyway).
  std::string select = "recon";
  int64_t batch_size = 1024;
  double lr = 1e-3, weight_decay = 1e-5, grad_clip = 1.0;
  double codebook_lr_scale = 1.0;  // codebook learning rate = lr x this (paper: 1)
  int kmeans_iterations = 20;
  int eval_every = 5;  // epochs between collision evaluations (checkpoint selection)
  uint64_t seed = 2024;
  int decollide_rounds = 20;
  int64_t chunk_rows = 65536;  // rows per chunk of inference / distance computation
  IdMode id_mode = IdMode::kJoint;
  double collapse_warn = 0.1;  // warn when a level uses < this fraction of min(codes, items) codes
};

// Named float32 array (weights and codebooks as they go into identifiers.h5).
struct NamedArray {
  std::string name;
  std::vector<uint64_t> dims;
  std::vector<float> values;
};

struct RqvaeResult {
  ItemIdentifiers ids;
  nlohmann::json report;            // also written beside identifiers.h5
  std::vector<NamedArray> weights;  // encoder/decoder parameters, "enc_sem.0.weight", ...
  std::vector<NamedArray> codebooks;  // by level prefix: "s_a", "sem_b", ...
  std::vector<std::string> warnings;  // codebook collapse etc., also in the report
};

// `collab` must already be aligned to `text` (align_to). `config_text` (the resolved options) goes
// into the config hash. `comm` (optional, size > 1): data parallel, each rank a slice of every
// batch, gradients averaged with all_reduce; every rank ends with the same identifiers.
RqvaeResult build_identifiers(const EmbeddingTable& text, const EmbeddingTable& collab,
                              const RqvaeOptions& options, const std::string& config_text,
                              std::shared_ptr<dist::Communicator> comm = nullptr);

// identifiers.h5 (identifiers, codebooks, weights, config) and the JSON report beside it
// (`report_path_for(path)`).
void write_identifiers_file(const std::string& path, const RqvaeResult& result,
                            const std::string& config_text);
std::string report_path_for(const std::string& identifiers_path);  // x.h5 -> x.report.json

}  // namespace gensar::rqvae
