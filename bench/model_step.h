// The bare training step that bench_model and bench_train time: forward + backward + AdamW of a
// T5 on one fixed random batch (no data pipeline, no collectives), so their figures are of the
// same step.
#pragma once

#include <torch/torch.h>

#include <dlfcn.h>

#include <cstdint>
#include <string>

#include "core/model/t5_model.h"

namespace gensar::bench {

// The kernel set OpenBLAS runs ("Haswell", "Cooperlake", ...; OPENBLAS_CORETYPE can force it, and
// the 512x512 GEMM rate nearly doubles between Haswell and an AVX-512 set: docs/performance.md,
// "BLAS kernels"), or "not OpenBLAS" when the BLAS behind LibTorch is another one.
inline std::string blas_core() {
  using CoreName = char* (*)();
  auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = core_name ? core_name() : nullptr;
  return name ? std::string("OpenBLAS ") + name : "not OpenBLAS";
}

struct ModelStep {
  ModelStep(const model::T5Config& config, int64_t batch, int64_t source, int64_t target)
      : model(config, nullptr, 1),
        optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3)) {
    model->train();
    torch::manual_seed(0);
    const int64_t vocab = config.vocab_size;
    input = torch::randint(2, vocab, {batch, source}, torch::kLong);
    mask = torch::ones({batch, source}, torch::kLong);
    labels = torch::randint(2, vocab, {batch, target}, torch::kLong);
    decoder_input = torch::cat(
        {torch::zeros({batch, 1}, torch::kLong), labels.slice(1, 0, target - 1)}, 1);
  }

  model::T5Output forward() { return model->forward(input, mask, decoder_input, labels); }

  void operator()() {
    optimizer.zero_grad();
    forward().loss.backward();
    optimizer.step();
  }

  model::T5Model model;
  torch::optim::AdamW optimizer;
  torch::Tensor input, mask, labels, decoder_input;
};

}  // namespace gensar::bench
