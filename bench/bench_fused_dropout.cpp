// The fused softmax-dropout and ReLU-dropout (core/tensor_parallel/fused_dropout.h) against the
// composed ops they replace, forward + backward on the TIGER step's largest dropped tensors
// (attention probabilities [64, 6, 169, 169] and FFN hidden units [64, 169, 1024]), one thread,
// alternating rounds in one process; ratios are composed time / fused time (docs/performance.md).
//
//   bench_fused_dropout [--rounds 4] [--json]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor_parallel/fused_dropout.h"

using namespace gensar;

namespace {

struct Times {
  double forward = 0, backward = 0;  // seconds, summed over rounds
};

void time_once(bool softmax, bool fused, Times* t) {
  tp::set_dropout_fusion(fused);
  tp::DropoutRng rng(3);
  const std::vector<int64_t> shape = softmax ? std::vector<int64_t>{64, 6, 169, 169}
                                             : std::vector<int64_t>{64, 169, 1024};
  torch::Tensor x = torch::randn(shape).requires_grad_(true);
  const torch::Tensor g = torch::randn(shape);
  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor y = softmax ? tp::sharded_softmax_dropout(x, 0.1, true, rng, 1, 0, 1)
                            : tp::sharded_relu_dropout(x, 0.1, true, rng, 2, 0, 1);
  const auto t1 = std::chrono::steady_clock::now();
  y.backward(g);
  const auto t2 = std::chrono::steady_clock::now();
  t->forward += std::chrono::duration<double>(t1 - t0).count();
  t->backward += std::chrono::duration<double>(t2 - t1).count();
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 4;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--json")) json = true;
    else { std::fprintf(stderr, "bench_fused_dropout: unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(1);
  nlohmann::ordered_json out = {{"threads", 1}, {"rounds", rounds}};
  for (bool softmax : {true, false}) {
    Times warm, fused, composed;
    time_once(softmax, true, &warm);
    time_once(softmax, false, &warm);
    for (int r = 0; r < rounds; ++r) {
      time_once(softmax, false, &composed);
      time_once(softmax, true, &fused);
    }
    const char* name = softmax ? "softmax_dropout" : "relu_dropout";
    const double ms = 1000.0 / rounds;
    out[name] = {{"composed_forward_ms", composed.forward * ms},
                 {"composed_backward_ms", composed.backward * ms},
                 {"fused_forward_ms", fused.forward * ms},
                 {"fused_backward_ms", fused.backward * ms},
                 {"speedup", (composed.forward + composed.backward) / (fused.forward + fused.backward)}};
    if (!json)
      std::printf("%-16s composed %6.1f + %6.1f ms, fused %6.1f + %6.1f ms (forward + backward): x%.2f\n",
                  name, composed.forward * ms, composed.backward * ms, fused.forward * ms,
                  fused.backward * ms, out[name]["speedup"].get<double>());
  }
  tp::set_dropout_fusion(true);
  if (json) std::printf("%s\n", out.dump().c_str());
  return 0;
}
