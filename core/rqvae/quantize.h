// Vector-quantisation kernels shared by RQ-VAE training and de-collision: distances, chunked
// argmin, Sinkhorn-Knopp balanced assignment, and k-means(++) codebook initialisation.
// All work on float tensors [rows, dim] and are vectorised; nothing loops per row in C++.
#pragma once

#include <torch/types.h>

namespace gensar::rqvae {

// Squared Euclidean distances [rows, codes] between x [rows, dim] and codebook [codes, dim].
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& codebook);

// argmin over codes, computed `chunk_rows` rows at a time so 1M rows never need a [1M, K] matrix.
torch::Tensor nearest_codes(const torch::Tensor& x, const torch::Tensor& codebook,
                            int64_t chunk_rows = 65536);

// Sinkhorn-Knopp over a distance matrix [rows, codes], as in the GenSAR/LC-Rec reference: distances
// are centred to [-1, 1], kernel exp(-d / epsilon), alternately normalised to uniform code and row
// marginals, `iterations` times; returns argmax code per row. `groups` (int64 [rows], optional,
// values in [0, num_groups)) runs independent problems, one per group, in one vectorised pass
// (each group gets its own code marginals); used to spread colliding items apart.
torch::Tensor sinkhorn_codes(const torch::Tensor& distances, double epsilon, int iterations,
                             const torch::Tensor& groups = {}, int64_t num_groups = 1);

// k-means with k-means++ seeding and `iterations` Lloyd steps. With fewer rows than k, the extra
// centroids are copies of random rows plus small noise. Uses torch's global generator (seeded by
// the caller), so results are reproducible.
torch::Tensor kmeans(const torch::Tensor& x, int64_t k, int iterations);

}  // namespace gensar::rqvae
