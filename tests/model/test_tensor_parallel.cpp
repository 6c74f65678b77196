// TP=2 (two ranks on threads sharing an in-process communicator) against TP=1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <exception>
#include <functional>
#include <thread>

#include "core/model/t5_model.h"
#include "core/tensor_parallel/mappings.h"
#include "tests/model/thread_communicator.h"
#include "tests/model/tiny_models.h"

namespace gensar::model {
namespace {

using testing::ThreadCommunicator;
using testing::ThreadGroup;

// Runs body(rank, communicator) on `size` threads and rethrows the first failure.
void run_ranks(int size, const std::function<void(int, tp::CommunicatorPtr)>& body) {
  auto group = std::make_shared<ThreadGroup>(size);
  std::vector<std::exception_ptr> errors(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        torch::set_num_threads(1);
        body(r, std::make_shared<ThreadCommunicator>(group, r));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

TEST(TensorParallel, RegionFunctionsForwardAndBackward) {
  auto x = torch::arange(8, torch::kFloat).view({2, 4});
  std::vector<torch::Tensor> copy_grad(2), reduce_out(2), gather_out(2), gather_grad(2),
      scatter_out(2), scatter_grad(2);
  run_ranks(2, [&](int r, tp::CommunicatorPtr comm) {
    auto a = (x * (r + 1)).requires_grad_(true);
    auto y = tp::copy_to_tp_region(a, comm);
    (y * (r + 1)).sum().backward();
    copy_grad[r] = a.grad();
    auto b = (x * (r + 1)).requires_grad_(true);
    auto z = tp::reduce_from_tp_region(b, comm);
    reduce_out[r] = z.detach();
    z.sum().backward();
    EXPECT_TRUE(torch::equal(b.grad(), torch::ones_like(x)));
    auto c = (x + 10 * r).requires_grad_(true);
    auto g = tp::gather_from_tp_region(c, comm, 1);
    gather_out[r] = g.detach();
    (g * torch::arange(8, torch::kFloat)).sum().backward();
    gather_grad[r] = c.grad();
    auto d = x.clone().requires_grad_(true);
    auto s = tp::scatter_to_tp_region(d, comm, 1);
    scatter_out[r] = s.detach();
    (s * (r + 1)).sum().backward();
    scatter_grad[r] = d.grad();
  });
  // copy: identity forward, gradients summed over ranks (1 + 2).
  EXPECT_TRUE(torch::equal(copy_grad[0], torch::full({2, 4}, 3.0)));
  EXPECT_TRUE(torch::equal(reduce_out[0], x * 3));
  EXPECT_TRUE(torch::equal(reduce_out[1], x * 3));
  EXPECT_TRUE(torch::equal(gather_out[1], torch::cat({x, x + 10}, 1)));
  auto weights = torch::arange(8, torch::kFloat).expand({2, 8});
  EXPECT_TRUE(torch::equal(gather_grad[1], weights.slice(1, 4, 8)));
  EXPECT_TRUE(torch::equal(scatter_out[1], x.slice(1, 2, 4)));
  auto expected = torch::cat({torch::ones({2, 2}), torch::full({2, 2}, 2.0)}, 1);
  EXPECT_TRUE(torch::equal(scatter_grad[0], expected));
}

struct Result {
  double loss = 0;
  torch::Tensor logits, example_loss, step_logprobs;
  std::map<std::string, torch::Tensor> grads;
};

// One training forward + backward (dropout on) and a few incremental decoding steps.
Result run_model(const T5Config& config, tp::CommunicatorPtr comm) {
  T5Model model(config, comm, 21);
  model->dropout_rng().reseed(5, /*dp_rank=*/0, tp::tp_rank(comm));
  model->train();
  auto b = testing::tiny_batch(config.vocab_size);
  auto out = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  out.loss.backward();
  Result r;
  r.loss = out.loss.item<double>();
  r.example_loss = out.example_loss.detach();
  r.logits = model->gather_logits(out.logits.detach());
  for (const auto& p : model->named_parameters()) r.grads[p.key()] = p.value().grad().clone();
  auto state = model->start_decoding(b.input_ids, b.attention_mask);
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < 3; ++t) steps.push_back(model->decode_step(*state, b.decoder_input_ids.select(1, t)));
  r.step_logprobs = torch::stack(steps);
  return r;
}

void check_tp2_equals_tp1(const T5Config& config) {
  torch::set_num_threads(1);
  Result single = run_model(config, nullptr);
  std::vector<Result> ranks(2);
  run_ranks(2, [&](int r, tp::CommunicatorPtr comm) { ranks[r] = run_model(config, comm); });
  T5Model reference(config);
  const auto dims = reference->partition_dims();
  for (int r = 0; r < 2; ++r) {
    EXPECT_NEAR(ranks[r].loss, single.loss, 1e-5);
    EXPECT_TRUE(torch::allclose(ranks[r].example_loss, single.example_loss, 0, 1e-5));
    EXPECT_TRUE(torch::allclose(ranks[r].logits, single.logits, 0, 1e-5));
    EXPECT_TRUE(torch::allclose(ranks[r].step_logprobs, single.step_logprobs, 0, 1e-5));
    for (const auto& [name, grad] : single.grads) {
      const int dim = dims.at(name);
      auto expected = grad;
      if (dim >= 0) {
        const int64_t part = grad.size(dim) / 2;
        expected = grad.narrow(dim, r * part, part);
      }
      ASSERT_EQ(ranks[r].grads.at(name).sizes(), expected.sizes()) << name;
      EXPECT_TRUE(torch::allclose(ranks[r].grads.at(name), expected, 1e-4, 1e-5))
          << name << " rank " << r << " max diff "
          << (ranks[r].grads.at(name) - expected).abs().max().item<double>();
    }
  }
}

TEST(TensorParallel, Tp2EqualsTp1TiedReluWithDropout) {
  check_tp2_equals_tp1(testing::tiny_config(FeedForward::kRelu, true, 0.1));
}

TEST(TensorParallel, Tp2EqualsTp1UntiedGatedWithDropout) {
  check_tp2_equals_tp1(testing::tiny_config(FeedForward::kGatedGelu, false, 0.1));
}

TEST(TensorParallel, InitialisationIndependentOfTpSize) {
  auto config = testing::tiny_config();
  T5Model single(config, nullptr, 3);
  auto full = single->full_state_dict();
  std::vector<std::map<std::string, torch::Tensor>> gathered(2);
  run_ranks(2, [&](int r, tp::CommunicatorPtr comm) {
    T5Model model(config, comm, 3);
    gathered[r] = model->full_state_dict();
  });
  for (const auto& [name, value] : full) {
    EXPECT_TRUE(torch::equal(gathered[0].at(name), value)) << name;
    EXPECT_TRUE(torch::equal(gathered[1].at(name), value)) << name;
  }
}

}  // namespace
}  // namespace gensar::model
