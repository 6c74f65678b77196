// mpirun -np 2: build_identifiers with the world communicator (what `gensar index` passes when
// launched with several ranks) gives every rank the same identifiers, whose first (cluster) level
// equals a one-process build's. Deeper levels are not bit-equal to one process: the averaged
// gradients sum in another order, and residual codes amplify that (measured: the first level
// matches on every item, later levels on part of them).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "core/rqvae/identifiers.h"
#include "core/rqvae/rqvae_trainer.h"
#include "distributed/communicator.h"

using namespace gensar;
using namespace gensar::rqvae;

namespace {

constexpr int kClusters = 6;
constexpr int kPerCluster = 32;

// Clustered unit-scale embeddings in both modalities (as tests/rqvae/test_rqvae_synthetic.cpp).
void make_tables(EmbeddingTable& text, EmbeddingTable& collab) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  text.dim = 16;
  collab.dim = 8;
  std::vector<std::vector<float>> tc(kClusters), cc(kClusters);
  for (int c = 0; c < kClusters; ++c) {
    for (int j = 0; j < text.dim; ++j) tc[c].push_back(normal(rng) / std::sqrt(float(text.dim)));
    for (int j = 0; j < collab.dim; ++j) cc[c].push_back(normal(rng) / std::sqrt(float(collab.dim)));
  }
  for (int i = 0; i < kClusters * kPerCluster; ++i) {
    const int c = i % kClusters;
    text.keys.push_back("item" + std::to_string(i));
    collab.keys.push_back("item" + std::to_string(i));
    for (int j = 0; j < text.dim; ++j) text.values.push_back(tc[c][j] + 0.03f * normal(rng));
    for (int j = 0; j < collab.dim; ++j) collab.values.push_back(cc[c][j] + 0.04f * normal(rng));
  }
}

TEST(IndexMpi, TwoRanksGiveOneRankIdentifiers) {
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2) << "run under mpirun -np 2";
  EmbeddingTable text, collab;
  make_tables(text, collab);
  RqvaeOptions o;
  o.hidden = {32, 8};
  o.shared_codes = {kClusters, 8};
  o.sem_codes = {8};
  o.col_codes = {8};
  o.epochs = 30;
  o.warmup_epochs = 5;
  o.batch_size = 64;
  o.eval_every = 10;
  o.seed = 5;
  o.codebook_lr_scale = 10;

  RqvaeResult alone = build_identifiers(text, collab, o, "cfg");
  RqvaeResult together = build_identifiers(text, collab, o, "cfg", world);
  ASSERT_EQ(together.ids.item_keys, alone.ids.item_keys);
  ASSERT_EQ(together.ids.sem_length(), alone.ids.sem_length());
  ASSERT_EQ(together.ids.col_length(), alone.ids.col_length());
  std::set<std::vector<int32_t>> distinct;
  for (size_t i = 0; i < alone.ids.num_items(); ++i) {
    EXPECT_EQ(together.ids.sem(i, 0), alone.ids.sem(i, 0)) << "item " << i;
    EXPECT_EQ(together.ids.col_ids[i * together.ids.col_length()], alone.ids.col_ids[i * alone.ids.col_length()])
        << "item " << i;
    distinct.insert({together.ids.sem_ids.begin() + i * together.ids.sem_length(),
                     together.ids.sem_ids.begin() + (i + 1) * together.ids.sem_length()});
  }
  EXPECT_EQ(distinct.size(), together.ids.num_items()) << "identifiers must be unique";
  // And the ranks agree with each other (rank 0 writes the file for all of them).
  std::string mine(reinterpret_cast<const char*>(together.ids.sem_ids.data()),
                   together.ids.sem_ids.size() * sizeof(int32_t));
  mine.append(reinterpret_cast<const char*>(together.ids.col_ids.data()),
              together.ids.col_ids.size() * sizeof(int32_t));
  EXPECT_EQ(world->broadcast_bytes(mine, 0), mine);
}

}  // namespace
