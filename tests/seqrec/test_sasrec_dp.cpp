// Data-parallel SASRec (2 ranks under mpirun) equals single-process SASRec on the combined batch:
// same sample order, same negatives, loss normalised by the global target count, summed gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/seqrec/sasrec.h"
#include "core/seqrec/sasrec_trainer.h"
#include "distributed/communicator.h"

namespace gensar::seqrec {
namespace {

TEST(SasRecDataParallel, TwoRanksMatchOneProcessOnTheCombinedBatch) {
  torch::set_num_threads(1);
  std::shared_ptr<dist::Communicator> world = dist::world();
  ASSERT_EQ(world->size(), 2) << "run under mpirun -np 2";
  // Users of uneven lengths so the two ranks hold different target counts per step.
  std::vector<std::vector<int32_t>> seqs;
  for (int u = 0; u < 48; ++u) {
    std::vector<int32_t> s;
    for (int t = 0; t < 3 + (u * 5) % 11; ++t) s.push_back((u * 3 + t * t) % 30);
    seqs.push_back(s);
  }
  SasRecConfig c;
  c.num_items = 30;
  c.max_len = 10;
  c.hidden = 16;
  c.blocks = 2;
  c.dropout = 0.0;  // dropout masks would differ between ranks and the single process
  SasRecTrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 16;
  opt.lr = 1e-2;
  opt.seed = 11;
  for (const std::string loss : {"bce", "ce"}) {
    c.loss = loss;
    SasRec parallel(c, 5), single(c, 5);
    const SasRecTrainReport rp = train_sasrec(parallel, seqs, opt, world.get());
    const SasRecTrainReport rs = train_sasrec(single, seqs, opt, nullptr);
    EXPECT_EQ(rp.steps, rs.steps);
    ASSERT_EQ(rp.epoch_losses.size(), rs.epoch_losses.size());
    for (size_t e = 0; e < rp.epoch_losses.size(); ++e)
      EXPECT_NEAR(rp.epoch_losses[e], rs.epoch_losses[e], 1e-4) << loss << " epoch " << e;
    auto pp = parallel.parameters(), ps = single.parameters();
    for (size_t i = 0; i < pp.size(); ++i) {
      const double diff = (pp[i] - ps[i]).abs().max().item<double>();
      EXPECT_LT(diff, 1e-4) << loss << " parameter " << i << " differs by " << diff;
    }
    // And the ranks agree with each other exactly (same summed gradients, same updates).
    torch::Tensor emb = parallel.item_embeddings();
    torch::Tensor from_rank0 = emb.clone();
    world->broadcast(from_rank0, 0);
    EXPECT_TRUE(torch::equal(emb, from_rank0)) << loss;
  }
}

}  // namespace
}  // namespace gensar::seqrec
