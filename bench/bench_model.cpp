// Training throughput of the T5 model (samples/s) on one thread, against the single-thread matrix
// multiply rate measured in the same run (the ceiling for this FLOP mix): the roofline of
// docs/performance.md. Two ceilings: a square 512 x 512 GEMM (what the BLAS reaches at its best)
// and the model's own largest GEMM shape (the feed-forward input projection of a batch, whose
// inner dimension d_model is what limits the small presets).
// Default: the TIGER preset at batch 64, 128 input and 6 output tokens, vocabulary 10,000 and an
// untied LM head (7.0M parameters). The ratio to PyTorch eager (bench/t5_eager_reference.py) is
// bench_train's, measured in the same run.
//   bench_model [--preset tiger|t5-small] [--tied] [--batch 64] [--source 128] [--target 6]
//               [--steps 5] [--vocab 10000] [--threads 1] [--dropout p] [--json]
// --json adds one line: {"samples_per_s", "gflops", "square_gemm_gflops", "model_gemm_gflops", ...}.
// The ceilings are measured through the model's own products (oneDNN where built, or
// GENSAR_GEMM=torch), with LibTorch's square GEMM beside them.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench/model_step.h"
#include "core/common/cpu_gemm.h"
#include "core/common/tensor_heap.h"
#include "core/common/cpu_numerics.h"
#include "core/model/t5_model.h"

using namespace gensar::model;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// GFLOP/s of [m, k] x [k, n] through the model's own product (core/common/cpu_gemm.h) on `backend`,
// best of three timings of enough repetitions for ~0.2 s.
double matmul_gflops(int64_t m, int64_t k, int64_t n, gensar::gemm::Backend backend) {
  const auto in_use = gensar::gemm::backend();
  gensar::gemm::set_backend(backend);
  auto a = torch::randn({m, k}), b = torch::randn({k, n});
  gensar::gemm::matmul(a, b);
  const double flops = 2.0 * m * k * n;
  const int reps = std::max(1, static_cast<int>(2e8 / flops));
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) gensar::gemm::matmul(a, b);
    best = std::max(best, reps * flops / seconds_since(t0) / 1e9);
  }
  gensar::gemm::set_backend(in_use);
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string malloc_mode = gensar::configure_tensor_heap();  // as gensar itself runs
  const std::string denormals_mode = gensar::flush_denormals();
  std::string preset = "tiger";
  bool tied = false;
  int64_t batch = 64, source = 128, target = 6, steps = 5, vocab = 10000, threads = 1;
  double dropout = -1;  // < 0: the preset's
  std::string trace;    // chrome-trace JSON of the timed steps (per-op profile)
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (arg == "--preset") preset = next();
    else if (arg == "--tied") tied = true;
    else if (arg == "--batch") batch = std::stoll(next());
    else if (arg == "--source") source = std::stoll(next());
    else if (arg == "--target") target = std::stoll(next());
    else if (arg == "--steps") steps = std::stoll(next());
    else if (arg == "--vocab") vocab = std::stoll(next());
    else if (arg == "--threads") threads = std::stoll(next());
    else if (arg == "--dropout") dropout = std::stod(next());
    else if (arg == "--trace") trace = next();
    else if (arg == "--json") json = true;
    else { std::fprintf(stderr, "unknown option %s\n", arg.c_str()); return 2; }
  }
  torch::set_num_threads(static_cast<int>(threads));
  auto config = T5Config::preset(preset, vocab);
  config.tie_word_embeddings = tied;
  if (dropout >= 0) config.dropout_rate = dropout;
  gensar::bench::ModelStep train_step(config, batch, source, target);

  // The ceilings are the products the model itself runs (oneDNN where built); LibTorch's square
  // GEMM is printed beside them, since the eager reference runs on it.
  const auto gemm = gensar::gemm::backend();
  const double peak = matmul_gflops(512, 512, 512, gemm);
  const double torch_peak = matmul_gflops(512, 512, 512, gensar::gemm::Backend::kTorch);
  const double model_gemm = matmul_gflops(batch * source, config.d_model, config.d_ff, gemm);
  train_step();  // warm-up: allocations, first-touch
  auto t0 = Clock::now();
  {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
    if (!trace.empty()) profile = std::make_unique<torch::autograd::profiler::RecordProfile>(trace);
    for (int64_t s = 0; s < steps; ++s) train_step();
  }
  const double elapsed = seconds_since(t0);
  const double samples_per_s = steps * batch / elapsed;
  const double gflops = samples_per_s * train_flops_per_sample(config, source, target) / 1e9;

  // Where the time goes: forward alone and backward + optimiser.
  auto t1 = Clock::now();
  T5Output out;
  for (int64_t s = 0; s < steps; ++s) out = train_step.forward();
  const double forward_s = seconds_since(t1) / steps;

  std::printf("bench_model: preset %s (%s LM head, dropout %.2f), %lld parameters, vocab %lld, "
              "%lld thread(s), malloc %s, denormals %s, %s, products %s\n",
              preset.c_str(), tied ? "tied" : "untied", config.dropout_rate,
              static_cast<long long>(parameter_count(config)), static_cast<long long>(vocab),
              static_cast<long long>(threads), malloc_mode.c_str(), denormals_mode.c_str(),
              gensar::bench::blas_core().c_str(), gensar::gemm::backend_name(gemm));
  std::printf("  batch %lld, source %lld, target %lld tokens, %lld timed steps\n",
              static_cast<long long>(batch), static_cast<long long>(source),
              static_cast<long long>(target), static_cast<long long>(steps));
  std::printf("  training step      %.3f s   -> %.1f samples/s\n", elapsed / steps, samples_per_s);
  if (const auto* cache = gensar::installed_tensor_cache()) {
    const auto s = cache->stats();
    std::printf("  tensor block cache %llu hits, %llu misses, %.0f MiB cached, %.0f MiB live\n",
                static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
                s.cached_bytes / 1048576.0, s.live_bytes / 1048576.0);
  }
  std::printf("  forward only       %.3f s   (%.0f%% of a step)\n", forward_s,
              100.0 * forward_s / (elapsed / steps));
  std::printf("  train FLOPs/sample %.3g    -> %.1f GFLOP/s\n",
              train_flops_per_sample(config, source, target), gflops);
  std::printf("  baseline (same run): 512x512 matmul (%s) %.1f GFLOP/s; model reaches %.0f%% of it"
              " (LibTorch's 512x512: %.1f)\n",
              gensar::gemm::backend_name(gemm), peak, 100.0 * gflops / peak, torch_peak);
  std::printf("  model's FFN GEMM [%lld x %lld] x [%lld x %lld] %.1f GFLOP/s; model reaches %.0f%% of it\n",
              static_cast<long long>(batch * source), static_cast<long long>(config.d_model),
              static_cast<long long>(config.d_model), static_cast<long long>(config.d_ff),
              model_gemm, 100.0 * gflops / model_gemm);
  // The ratio to PyTorch eager is measured, in the same run, by bench_train (not a constant here).
  if (json)
    std::printf("{\"preset\":\"%s\",\"batch\":%lld,\"source\":%lld,\"target\":%lld,\"threads\":%lld,"
                "\"samples_per_s\":%.3f,\"train_flops_per_sample\":%.6g,\"gflops\":%.3f,"
                "\"square_gemm_gflops\":%.3f,\"model_gemm_gflops\":%.3f,\"share_of_square\":%.4f,"
                "\"share_of_model_gemm\":%.4f,\"forward_share\":%.4f,\"blas\":\"%s\","
                "\"products\":\"%s\",\"torch_square_gemm_gflops\":%.3f}\n",
                preset.c_str(), static_cast<long long>(batch), static_cast<long long>(source),
                static_cast<long long>(target), static_cast<long long>(threads), samples_per_s,
                train_flops_per_sample(config, source, target), gflops, peak, model_gemm,
                gflops / peak, gflops / model_gemm, forward_s / (elapsed / steps),
                gensar::bench::blas_core().c_str(), gensar::gemm::backend_name(gemm), torch_peak);
  return 0;
}
