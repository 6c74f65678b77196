#include "core/rqvae/rqvae_model.h"

#include <torch/torch.h>

#include "core/common/check.h"
#include "core/rqvae/quantize.h"

namespace gensar::rqvae {
namespace {

// Linear layers with ReLU between them (none after the last), Xavier-normal weights, zero bias.
torch::nn::Sequential mlp(const std::vector<int64_t>& widths) {
  torch::nn::Sequential seq;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    torch::nn::Linear linear(widths[i], widths[i + 1]);
    torch::nn::init::xavier_normal_(linear->weight);
    torch::nn::init::zeros_(linear->bias);
    seq->push_back(linear);
    if (i + 2 < widths.size()) seq->push_back(torch::nn::ReLU());
  }
  return seq;
}

std::string level_prefix(const std::string& group, size_t level) {
  GENSAR_CHECK(level < 26, "at most 26 levels per codebook group, asked for {}", level + 1);
  return group + "_" + static_cast<char>('a' + level);
}

struct LevelResult {
  torch::Tensor quantised;  // straight-through: value e, gradient to the residual
  torch::Tensor codes;
  torch::Tensor loss;
};

LevelResult quantise(const torch::Tensor& residual, const torch::Tensor& codebook, double beta,
                     bool sinkhorn, double epsilon, int iterations) {
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    auto d = squared_distances(residual.detach(), codebook.detach());
    codes = sinkhorn ? sinkhorn_codes(d, epsilon, iterations) : d.argmin(1);
  }
  auto e = codebook.index_select(0, codes);
  auto loss = torch::mse_loss(e, residual.detach()) + beta * torch::mse_loss(residual, e.detach());
  return {residual + (e - residual).detach(), codes, loss};
}

}  // namespace

RqvaeModelImpl::RqvaeModelImpl(const RqvaeShape& shape) : shape_(shape) {
  GENSAR_CHECK(shape.text_dim > 0 && shape.collab_dim > 0, "input dims {} / {}", shape.text_dim,
               shape.collab_dim);
  GENSAR_CHECK(!shape.hidden.empty(), "the encoder needs at least one layer");
  std::vector<int64_t> enc_sem = {shape.text_dim}, enc_col = {shape.collab_dim};
  enc_sem.insert(enc_sem.end(), shape.hidden.begin(), shape.hidden.end());
  enc_col.insert(enc_col.end(), shape.hidden.begin(), shape.hidden.end());
  std::vector<int64_t> dec_sem(shape.hidden.rbegin(), shape.hidden.rend()), dec_col = dec_sem;
  dec_sem.push_back(shape.text_dim);
  dec_col.push_back(shape.collab_dim);
  enc_sem_ = register_module("enc_sem", mlp(enc_sem));
  enc_col_ = register_module("enc_col", mlp(enc_col));
  dec_sem_ = register_module("dec_sem", mlp(dec_sem));
  dec_col_ = register_module("dec_col", mlp(dec_col));
  int64_t latent = shape.latent();
  auto add_group = [&](const std::string& group, const std::vector<int64_t>& codes, int64_t dim,
                       std::vector<torch::Tensor>& books, std::vector<std::string>& prefixes) {
    for (size_t l = 0; l < codes.size(); ++l) {
      GENSAR_CHECK(codes[l] > 0, "level {} of {} has {} codes", l, group, codes[l]);
      prefixes.push_back(level_prefix(group, l));
      // Placeholder values; k-means on the first batch sets them before training.
      books.push_back(register_parameter("codebook_" + prefixes.back(),
                                         torch::randn({codes[l], dim}) * 0.01));
    }
  };
  add_group("s", shape.shared_codes, 2 * latent, shared_, shared_prefix_);
  add_group("sem", shape.sem_codes, latent, sem_, sem_prefix_);
  add_group("col", shape.col_codes, latent, col_, col_prefix_);
}

RqvaeOutput RqvaeModelImpl::forward(const torch::Tensor& text, const torch::Tensor& collab,
                                    const RqvaeLossWeights& w, double epsilon, int iterations) {
  int64_t latent = shape_.latent();
  auto z = torch::cat({enc_sem_->forward(text), enc_col_->forward(collab)}, 1);
  auto residual = z;
  auto shared_q = torch::zeros_like(z);
  std::vector<torch::Tensor> losses, shared_codes;
  for (const auto& book : shared_) {
    auto r = quantise(residual, book, w.beta, false, 0, 0);
    residual = residual - r.quantised;
    shared_q = shared_q + r.quantised;
    losses.push_back(r.loss);
    shared_codes.push_back(r.codes);
  }
  auto run_specific = [&](torch::Tensor res, const std::vector<torch::Tensor>& books,
                          std::vector<torch::Tensor>& codes) {
    auto q = torch::zeros_like(res);
    for (size_t l = 0; l < books.size(); ++l) {
      bool sk = epsilon > 0 && l + 1 == books.size();
      auto r = quantise(res, books[l], w.beta, sk, epsilon, iterations);
      res = res - r.quantised;
      q = q + r.quantised;
      losses.push_back(r.loss);
      codes.push_back(r.codes);
    }
    return q;
  };
  std::vector<torch::Tensor> sem_codes = shared_codes, col_codes = shared_codes;
  auto sem_q = run_specific(residual.narrow(1, 0, latent), sem_, sem_codes);
  auto col_q = run_specific(residual.narrow(1, latent, latent), col_, col_codes);
  auto recon_sem = dec_sem_->forward(shared_q.narrow(1, 0, latent) + sem_q);
  auto recon_col = dec_col_->forward(shared_q.narrow(1, latent, latent) + col_q);
  RqvaeOutput out;
  out.recon_sem = torch::mse_loss(recon_sem, text);
  out.recon_col = torch::mse_loss(recon_col, collab);
  out.vq = losses.empty() ? torch::zeros({}) : torch::stack(losses).mean();
  out.loss = w.sem_recon * out.recon_sem + w.col_recon * out.recon_col + w.vq * out.vq;
  int64_t b = text.size(0);
  out.sem_codes = sem_codes.empty() ? torch::empty({b, 0}, torch::kLong) : torch::stack(sem_codes, 1);
  out.col_codes = col_codes.empty() ? torch::empty({b, 0}, torch::kLong) : torch::stack(col_codes, 1);
  return out;
}

void RqvaeModelImpl::init_codebooks(const torch::Tensor& text, const torch::Tensor& collab,
                                    int kmeans_iterations) {
  torch::NoGradGuard no_grad;
  int64_t latent = shape_.latent();
  auto residual = torch::cat({enc_sem_->forward(text), enc_col_->forward(collab)}, 1);
  auto fit = [&](torch::Tensor res, std::vector<torch::Tensor>& books) {
    for (auto& book : books) {
      book.copy_(kmeans(res, book.size(0), kmeans_iterations));
      res = res - book.index_select(0, nearest_codes(res, book));
    }
    return res;
  };
  residual = fit(residual, shared_);
  fit(residual.narrow(1, 0, latent).contiguous(), sem_);
  fit(residual.narrow(1, latent, latent).contiguous(), col_);
}

std::vector<int64_t> RqvaeModelImpl::level_sizes() const {
  std::vector<int64_t> out;
  for (const auto* books : {&shared_, &sem_, &col_})
    for (const auto& b : *books) out.push_back(b.size(0));
  return out;
}

int64_t RqvaeModelImpl::reseed_dead_codes(const torch::Tensor& text, const torch::Tensor& collab,
                                          const std::vector<torch::Tensor>& usage) {
  torch::NoGradGuard no_grad;
  GENSAR_CHECK(usage.size() == shared_.size() + sem_.size() + col_.size(),
               "{} usage tensors for {} levels", usage.size(), level_sizes().size());
  const int64_t latent = shape_.latent();
  int64_t replaced = 0;
  size_t level = 0;
  auto repair = [&](torch::Tensor res, std::vector<torch::Tensor>& books) {
    for (auto& book : books) {
      auto dead = (usage[level++] == 0).nonzero().squeeze(1);
      const int64_t n_dead = dead.numel();
      if (n_dead > 0) {
        auto rows = torch::randint(res.size(0), {n_dead}, torch::kLong);
        book.index_copy_(0, dead, res.index_select(0, rows));
        replaced += n_dead;
      }
      res = res - book.index_select(0, nearest_codes(res, book));
    }
    return res;
  };
  auto residual = torch::cat({enc_sem_->forward(text), enc_col_->forward(collab)}, 1);
  residual = repair(residual, shared_);
  repair(residual.narrow(1, 0, latent).contiguous(), sem_);
  repair(residual.narrow(1, latent, latent).contiguous(), col_);
  return replaced;
}

RqvaeAssignment RqvaeModelImpl::assign(const torch::Tensor& text, const torch::Tensor& collab) {
  torch::NoGradGuard no_grad;
  int64_t latent = shape_.latent();
  int64_t b = text.size(0);
  auto residual = torch::cat({enc_sem_->forward(text), enc_col_->forward(collab)}, 1);
  std::vector<torch::Tensor> shared_codes;
  for (const auto& book : shared_) {
    auto codes = nearest_codes(residual, book);
    residual = residual - book.index_select(0, codes);
    shared_codes.push_back(codes);
  }
  RqvaeAssignment out;
  auto run_specific = [&](torch::Tensor res, const std::vector<torch::Tensor>& books,
                          torch::Tensor& codes_out, torch::Tensor& last_residual) {
    std::vector<torch::Tensor> codes = shared_codes;
    for (size_t l = 0; l < books.size(); ++l) {
      if (l + 1 == books.size()) last_residual = res.contiguous();
      auto c = nearest_codes(res, books[l]);
      res = res - books[l].index_select(0, c);
      codes.push_back(c);
    }
    codes_out = codes.empty() ? torch::empty({b, 0}, torch::kLong) : torch::stack(codes, 1);
  };
  run_specific(residual.narrow(1, 0, latent), sem_, out.sem_codes, out.sem_last_residual);
  run_specific(residual.narrow(1, latent, latent), col_, out.col_codes, out.col_last_residual);
  return out;
}

}  // namespace gensar::rqvae
