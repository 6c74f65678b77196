// TP=2 over the MPI communicator (under mpirun -np 2, or -np 4 = DP 2 x TP 2) against a TP=1 model
// computed in the same process: forward outputs, per-example losses, gradients and incremental
// decoding agree to 1e-5, with dropout on (TP-consistent masks, a different stream per DP rank).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/model/t5_model.h"
#include "distributed/communicator.h"
#include "distributed/process_mesh.h"
#include "core/tensor_parallel/mappings.h"
#include "tests/model/tiny_models.h"

namespace gensar::model {
namespace {

struct TpRun {
  torch::Tensor loss, example_loss, logits, steps;
  std::map<std::string, torch::Tensor> grads;
};

TpRun run(const T5Config& config, tp::CommunicatorPtr tp, int dp_rank) {
  T5Model model(config, tp, 31);
  model->dropout_rng().reseed(8, dp_rank, tp::tp_rank(tp));
  model->train();
  // Each DP replica gets its own batch, as in data-parallel training.
  auto b = testing::tiny_batch(config.vocab_size, 100 + dp_rank);
  auto out = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  out.loss.backward();
  TpRun r;
  r.loss = out.loss.detach();
  r.example_loss = out.example_loss.detach();
  r.logits = model->gather_logits(out.logits.detach());
  for (const auto& p : model->named_parameters()) r.grads[p.key()] = p.value().grad().clone();
  auto state = model->start_decoding(b.input_ids, b.attention_mask);
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < 3; ++t) steps.push_back(model->decode_step(*state, b.decoder_input_ids.select(1, t)));
  r.steps = torch::stack(steps);
  return r;
}

TEST(TensorParallelMpi, MatchesSingleProcess) {
  torch::set_num_threads(1);
  auto world = dist::world();
  dist::MeshOptions options;
  options.tp_size = world->size() % 2 == 0 ? 2 : 1;
  dist::ProcessMesh mesh(world, options);
  for (auto ff : {FeedForward::kRelu, FeedForward::kGatedGelu}) {
    auto config = testing::tiny_config(ff, ff == FeedForward::kRelu, 0.1);
    TpRun single = run(config, nullptr, mesh.dp_rank());
    TpRun parallel = run(config, mesh.tp(), mesh.dp_rank());
    EXPECT_NEAR(parallel.loss.item<double>(), single.loss.item<double>(), 1e-5);
    EXPECT_TRUE(torch::allclose(parallel.example_loss, single.example_loss, 0, 1e-5));
    EXPECT_TRUE(torch::allclose(parallel.logits, single.logits, 0, 1e-5));
    EXPECT_TRUE(torch::allclose(parallel.steps, single.steps, 0, 1e-5));
    for (const auto& [name, grad] : single.grads) {
      const int dim = partition_dims_for(config).at(name);
      auto expected = grad;
      if (dim >= 0) {
        const int64_t part = grad.size(dim) / mesh.tp_size();
        expected = grad.narrow(dim, mesh.tp_rank() * part, part);
      }
      EXPECT_TRUE(torch::allclose(parallel.grads.at(name), expected, 1e-4, 1e-5))
          << name << " on world rank " << mesh.world_rank();
    }
    // DP replicas draw different dropout masks and see different batches: their losses differ.
    if (mesh.dp_size() > 1) {
      auto losses = tp::all_gather_along(single.loss.reshape({1}), *mesh.dp(), 0);
      EXPECT_NE(losses[0].item<double>(), losses[1].item<double>());
    }
  }
}

}  // namespace
}  // namespace gensar::model
