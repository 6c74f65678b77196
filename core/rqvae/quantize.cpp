#include "core/rqvae/quantize.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/check.h"

namespace gensar::rqvae {

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& codebook) {
  auto x2 = x.pow(2).sum(1, /*keepdim=*/true);
  auto e2 = codebook.pow(2).sum(1).unsqueeze(0);
  return torch::addmm(x2 + e2, x, codebook.t(), /*beta=*/1, /*alpha=*/-2).clamp_min(0);
}

torch::Tensor nearest_codes(const torch::Tensor& x, const torch::Tensor& codebook, int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  int64_t n = x.size(0);
  auto out = torch::empty({n}, torch::kLong);
  for (int64_t start = 0; start < n; start += chunk_rows) {
    int64_t len = std::min(chunk_rows, n - start);
    out.narrow(0, start, len).copy_(squared_distances(x.narrow(0, start, len), codebook).argmin(1));
  }
  return out;
}

torch::Tensor sinkhorn_codes(const torch::Tensor& distances, double epsilon, int iterations,
                             const torch::Tensor& groups, int64_t num_groups) {
  torch::NoGradGuard no_grad;
  GENSAR_CHECK(distances.dim() == 2, "sinkhorn wants [rows, codes], got {} dims", distances.dim());
  int64_t rows = distances.size(0), codes = distances.size(1);
  if (rows == 0) return torch::empty({0}, torch::kLong);
  auto d = distances.to(torch::kDouble);
  bool grouped = groups.defined();
  torch::Tensor g = grouped ? groups.to(torch::kLong) : torch::zeros({rows}, torch::kLong);
  int64_t ng = grouped ? num_groups : 1;
  // Centre each group's distances to [-1, 1] (the reference centres over the batch).
  auto gmax = torch::full({ng}, -1e300, torch::kDouble)
                  .scatter_reduce(0, g, std::get<0>(d.max(1)), "amax", /*include_self=*/true);
  auto gmin = torch::full({ng}, 1e300, torch::kDouble)
                  .scatter_reduce(0, g, std::get<0>(d.min(1)), "amin", /*include_self=*/true);
  auto middle = ((gmax + gmin) / 2).index_select(0, g).unsqueeze(1);
  auto amplitude = ((gmax - gmin) / 2 + 1e-5).index_select(0, g).unsqueeze(1);
  auto centred = (d - middle) / amplitude;
  // Log domain: rows shifted by their own minimum first (Sinkhorn is invariant to row scaling), so
  // exp(-d/eps) with eps = 0.003 neither overflows nor zeroes the best code.
  auto logits = -(centred - std::get<0>(centred.min(1, true))) / epsilon;
  auto q = logits.exp();
  const double tiny = 1e-300;
  for (int it = 0; it < iterations; ++it) {
    // Each code gets equal mass within its group...
    auto col = torch::zeros({ng, codes}, torch::kDouble).index_add_(0, g, q);
    q = q / (col.index_select(0, g) + tiny);
    // ...and each row sums to one.
    q = q / (q.sum(1, true) + tiny);
  }
  return q.argmax(1);
}

torch::Tensor kmeans(const torch::Tensor& x_in, int64_t k, int iterations) {
  torch::NoGradGuard no_grad;
  auto x = x_in.detach().to(torch::kFloat).contiguous();
  int64_t n = x.size(0), dim = x.size(1);
  GENSAR_CHECK(n > 0 && k > 0, "kmeans needs rows ({}) and k ({})", n, k);
  auto centroids = torch::empty({k, dim}, torch::kFloat);
  int64_t seeded = std::min(n, k);
  // k-means++: each next seed drawn with probability proportional to its squared distance.
  int64_t first = torch::randint(n, {1}, torch::kLong).item<int64_t>();
  centroids[0] = x[first];
  auto best = squared_distances(x, centroids.narrow(0, 0, 1)).squeeze(1);
  // Greedy k-means++ (as scikit-learn): draw a few candidates per step, keep the one that lowers
  // the total squared distance most; far less likely to merge two true clusters than plain ++.
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  for (int64_t c = 1; c < seeded; ++c) {
    auto total = best.sum().item<double>();
    auto picks = total > 0 ? torch::multinomial(best, trials, /*replacement=*/true)
                           : torch::randint(n, {trials}, torch::kLong);
    auto candidate_best = torch::minimum(best.unsqueeze(1), squared_distances(x, x.index_select(0, picks)));
    int64_t winner = candidate_best.sum(0).argmin().item<int64_t>();
    centroids[c] = x[picks[winner].item<int64_t>()];
    best = candidate_best.select(1, winner).contiguous();
  }
  if (seeded < k) {
    auto picks = torch::randint(n, {k - seeded}, torch::kLong);
    auto scale = x.std().item<double>();
    if (!(scale > 0)) scale = 1.0;
    centroids.narrow(0, seeded, k - seeded)
        .copy_(x.index_select(0, picks) + 0.01 * scale * torch::randn({k - seeded, dim}));
  }
  for (int it = 0; it < iterations; ++it) {
    auto assign = nearest_codes(x, centroids);
    auto sums = torch::zeros({k, dim}, torch::kFloat).index_add_(0, assign, x);
    auto counts = torch::zeros({k}, torch::kFloat).index_add_(0, assign, torch::ones({n}));
    auto filled = counts > 0;
    // Empty clusters keep their previous centroid.
    centroids = torch::where(filled.unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1), centroids);
  }
  return centroids;
}

}  // namespace gensar::rqvae
