// The joint RQ-VAE of GenSAR section 1: two MLP encoders (semantic, collaborative), shared residual
// quantisation over z = concat(z_s, z_c), then the residual split in halves through semantic-only
// and collaborative-only residual levels, and two mirrored MLP decoders.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace gensar::rqvae {

struct RqvaeShape {
  int64_t text_dim = 0, collab_dim = 0;
  std::vector<int64_t> hidden = {512, 256, 128, 64, 32};  // encoder widths; the last is the latent
  std::vector<int64_t> shared_codes = {256, 256};         // one entry per shared level (dim 2*latent)
  std::vector<int64_t> sem_codes = {256, 256};            // semantic-only levels (dim latent)
  std::vector<int64_t> col_codes = {256, 256};            // collaborative-only levels (dim latent)
  int64_t latent() const { return hidden.back(); }
};

struct RqvaeLossWeights {
  double beta = 0.25;  // commitment weight
  double sem_recon = 1.0, col_recon = 1.0, vq = 1.0;
};

struct RqvaeOutput {
  torch::Tensor loss, recon_sem, recon_col, vq;  // scalars
  torch::Tensor sem_codes, col_codes;            // long [batch, shared + specific levels]
};

struct RqvaeAssignment {
  torch::Tensor sem_codes, col_codes;  // long [rows, shared + specific levels]
  // Residual entering the last specific level (what de-collision re-quantises); undefined when
  // that side has no specific level.
  torch::Tensor sem_last_residual, col_last_residual;
};

class RqvaeModelImpl : public torch::nn::Module {
 public:
  explicit RqvaeModelImpl(const RqvaeShape& shape);

  // Training forward. `sinkhorn_epsilon` > 0 assigns the last specific level of each side with
  // Sinkhorn-Knopp (balanced) instead of argmin.
  RqvaeOutput forward(const torch::Tensor& text, const torch::Tensor& collab,
                      const RqvaeLossWeights& weights, double sinkhorn_epsilon, int sinkhorn_iterations);
  // k-means on one batch, level by level on that level's residual (GenSAR: "k-means on the first batch").
  void init_codebooks(const torch::Tensor& text, const torch::Tensor& collab, int kmeans_iterations);
  // Inference: argmin at every level, no gradients.
  RqvaeAssignment assign(const torch::Tensor& text, const torch::Tensor& collab);
  // Dead-code re-seeding: `usage` holds one count tensor per level (shared, then semantic, then
  // collaborative levels; codes used since the last call). Every unused code of a level is
  // replaced by the residual entering that level of a random row of this batch, level by level
  // (so later levels see the repaired residuals). Uses torch's global generator. Returns the
  // number of codes replaced.
  int64_t reseed_dead_codes(const torch::Tensor& text, const torch::Tensor& collab,
                            const std::vector<torch::Tensor>& usage);
  // Number of levels in reseed order, and the code count of each.
  std::vector<int64_t> level_sizes() const;

  const RqvaeShape& shape() const { return shape_; }
  // Token prefixes, one per level: s_a, s_b, ... / sem_a, ... / col_a, ...
  const std::vector<std::string>& shared_prefixes() const { return shared_prefix_; }
  const std::vector<std::string>& sem_prefixes() const { return sem_prefix_; }
  const std::vector<std::string>& col_prefixes() const { return col_prefix_; }
  const std::vector<torch::Tensor>& shared_codebooks() const { return shared_; }
  const std::vector<torch::Tensor>& sem_codebooks() const { return sem_; }
  const std::vector<torch::Tensor>& col_codebooks() const { return col_; }

 private:
  RqvaeShape shape_;
  torch::nn::Sequential enc_sem_{nullptr}, enc_col_{nullptr}, dec_sem_{nullptr}, dec_col_{nullptr};
  std::vector<torch::Tensor> shared_, sem_, col_;
  std::vector<std::string> shared_prefix_, sem_prefix_, col_prefix_;
};
TORCH_MODULE(RqvaeModel);

}  // namespace gensar::rqvae
