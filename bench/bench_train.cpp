// Training throughput, as ratios measured in the same run (docs/performance.md):
//  1. the bare model step (forward + backward + AdamW, TIGER preset, one fixed random batch of
//     --batch x --src input and --tgt target tokens, vocabulary --vocab) against the same step in
//     PyTorch eager (bench/t5_eager_reference.py on Debian's python3-torch: the same LibTorch
//     kernels), run with glibc's default heap, with gensar's heap settings, and with jemalloc
//     keeping every page (no page faults: the strictest ratio); skipped with a note when
//     python3-torch is missing; against itself with the fused dropout off, which is what the
//     fusion buys; and against itself with its matrix products through LibTorch instead of oneDNN
//     (what the products buy, and the ratio on eager's own kernels). The six are timed back to
//     back in each of --rounds rounds and the ratios are medians of the rounds' ratios (the VM
//     drifts);
//  2. `gensar train`'s loop on Amazon Scientific (all six tasks, paper mix, placeholder identifiers:
//     throughput does not depend on their quality) with length bucketing off and on, and the
//     share of encoder tokens that is padding in each (skipped with --loop-steps 0).
//
//   bench_train [--steps 10] [--batch 64] [--src 169] [--tgt 6] [--vocab 10000] [--threads 1]
//               [--rounds 5] [--loop-steps 20] [--dataset DIR (already ingested)] [--json]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/model_step.h"
#include "core/common/allocator.h"
#include "core/common/cpu_gemm.h"
#include "core/common/tensor_heap.h"
#include "core/common/cpu_numerics.h"
#include "core/model/t5_config.h"
#include "core/tensor_parallel/fused_dropout.h"
#include "core/train/batch.h"
#include "core/train/sample_stream.h"
#include "core/train/run_layout.h"
#include "core/train/run_setup.h"
#include "core/train/trainer.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/ingest_comm.h"
#include "data_pipeline/readers/reader_factory.h"
#include "data_pipeline/sample_order.h"
#include "distributed/process_mesh.h"

using namespace gensar;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// How the eager reference's process gets its memory. On a VM where page faults are expensive the
// allocator decides much of eager's speed (docs/performance.md, "Allocator"), so it is measured
// three ways: glibc's defaults; glibc set as gensar sets its own heap (core/common/allocator.h's
// constants, through GLIBC_TUNABLES); and jemalloc with purging off, which keeps every freed page
// mapped, so that eager's step is as free of faults as gensar's with its tensor block cache (the
// strictest comparison; Debian's libjemalloc2, installed by scripts/setup-bench.sh).
enum class EagerHeap { kDefault, kHeapTuned, kFaultFree };
constexpr const char* kJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

std::string eager_heap_env(EagerHeap heap) {
  switch (heap) {
    case EagerHeap::kDefault: return "";
    case EagerHeap::kHeapTuned:
      return fmt::format("GLIBC_TUNABLES=glibc.malloc.mmap_threshold={}:glibc.malloc."
                         "trim_threshold={}:glibc.malloc.top_pad={} ",
                         kHeapMmapThreshold, kHeapTrimThreshold, kHeapTopPad);
    case EagerHeap::kFaultFree:
      return fmt::format("LD_PRELOAD={} MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 ", kJemalloc);
  }
  return "";
}

// The PyTorch eager reference at the same shape, or -1 when python3-torch (or, for kFaultFree,
// libjemalloc2) is not installed.
double eager_step_rate(int64_t batch, int64_t src, int64_t tgt, int64_t vocab, int64_t steps,
                       int threads, EagerHeap heap) {
  if (heap == EagerHeap::kFaultFree && !fs::exists(kJemalloc)) return -1;
  const std::string cmd = fmt::format(
      "{}OMP_NUM_THREADS={} /usr/bin/python3 {}/bench/t5_eager_reference.py --batch {} --src {} "
      "--tgt {} --vocab {} --steps {} --threads {} 2>/dev/null",
      eager_heap_env(heap), threads, GENSAR_SOURCE_DIR, batch, src, tgt, vocab, steps, threads);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  if (::pclose(pipe) != 0) return -1;
  auto j = nlohmann::json::parse(out, nullptr, false);
  return j.is_object() ? j.value("eager_samples_per_s", -1.0) : -1.0;
}

// One round's samples/s of the bare step: gensar as it runs (fused dropout, products through
// oneDNN where built), the composed softmax/dropout ops instead of the fused ones, gensar with its
// products through LibTorch (the kernels eager runs on), and PyTorch eager on each of the three
// heaps, measured back to back so that all six see the same machine.
struct BareRound {
  double fused = 0, composed = 0, torch_products = 0;
  double eager = -1, eager_heap_tuned = -1, eager_fault_free = -1;
};

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// `rounds` rounds of `steps` steps per side on the same model and batch. This VM's speed drifts by
// tens of percent over minutes (docs/performance.md), so the ratio is taken within each round and
// the median over rounds is what is reported, with every round's figure beside it.
std::vector<BareRound> bare_step_rounds(int64_t batch, int64_t src, int64_t tgt, int64_t vocab,
                                        int64_t steps, int rounds, int threads) {
  auto config = model::T5Config::preset("tiger", vocab);
  config.tie_word_embeddings = false;
  bench::ModelStep step(config, batch, src, tgt);
  step();
  const auto products = gemm::backend();
  auto rate = [&](bool fused, gemm::Backend backend) {
    tp::set_dropout_fusion(fused);
    gemm::set_backend(backend);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) step();
    const double r = steps * batch / seconds_since(t0);
    tp::set_dropout_fusion(true);
    gemm::set_backend(products);
    return r;
  };
  std::vector<BareRound> out(rounds);
  for (auto& r : out) {
    r.fused = rate(true, products);
    r.composed = rate(false, products);
    r.torch_products = rate(true, gemm::Backend::kTorch);
    r.eager = eager_step_rate(batch, src, tgt, vocab, steps, threads, EagerHeap::kDefault);
    r.eager_heap_tuned = eager_step_rate(batch, src, tgt, vocab, steps, threads, EagerHeap::kHeapTuned);
    r.eager_fault_free = eager_step_rate(batch, src, tgt, vocab, steps, threads, EagerHeap::kFaultFree);
  }
  return out;
}

struct LoopFigures {
  double samples_per_s = 0, padding = 0;
};

LoopFigures trainer_loop(const train::RunPieces& pieces, const fs::path& out, int64_t batch,
                         int64_t steps, int64_t bucket_window) {
  model::T5Config config = train::model_config_for("tiger", *pieces.tokenizer, 0.1, 1);
  auto mesh = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});
  model::T5Model model(config, nullptr, 1);
  train::TrainerOptions o;
  o.out = out.string();
  o.batch_size = batch;
  o.max_steps = steps + 2;
  o.valid_every = -1;
  o.progress = false;
  o.bucket_window = bucket_window;
  o.checkpoint_files = {{train::run_layout::kConfigFile, "bench\n"}};
  train::Trainer trainer(o, pieces.builder, model, mesh);
  trainer.run();
  LoopFigures f;
  double secs = 0;
  for (size_t i = 2; i < trainer.history().size(); ++i) secs += batch / trainer.history()[i].samples_per_s;
  f.samples_per_s = steps * batch / secs;
  // Padding share of the encoder tokens of the same batches.
  train::TaskMixOptions mix;
  mix.seed = o.seed;
  train::SampleStream stream(*pieces.builder, mix, {batch, bucket_window, o.seed});
  f.padding = train::encoder_padding_share(stream, batch, steps + 2);
  return f;
}

// `gensar train`'s loop on Scientific with bucketing off and on (placeholder identifiers).
std::pair<LoopFigures, LoopFigures> trainer_loops(std::string dataset_dir, int64_t batch,
                                                  int64_t loop_steps) {
  const fs::path tmp = fs::temp_directory_path() / ("gensar-bench-train-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  if (dataset_dir.empty()) {
    data::IngestOptions o;
    o.out = (tmp / "dataset").string();
    o.candidates = false;
    auto reader = data::make_reader(data::ReaderSpec{
        "lcrec", std::string(GENSAR_BENCH_DATASETS_DIR) + "/amazon18-scientific/Scientific", ""});
    auto comm = data::single_ingest_comm();
    data::ingest(*reader, o, *comm);
    dataset_dir = o.out;
  }
  data::Dataset ds(dataset_dir);
  rqvae::ItemIdentifiers ids;
  ids.sem_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"sem_a", 256, false}, {"sem_b", 256, false}};
  ids.col_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"col_a", 256, false}, {"col_b", 256, false}};
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    ids.item_keys.emplace_back(ds.item_key(i));
    uint64_t h = data::mix64(static_cast<uint64_t>(i));
    for (int l = 0; l < 4; ++l) ids.sem_ids.push_back(static_cast<int32_t>((h >> (8 * l)) & 255));
    ids.col_ids.insert(ids.col_ids.end(), {ids.sem_ids[4 * i], ids.sem_ids[4 * i + 1],
                                           static_cast<int32_t>((h >> 32) & 255),
                                           static_cast<int32_t>((h >> 40) & 255)});
  }
  const std::string ids_path = (tmp / "identifiers.h5").string();
  rqvae::save_identifiers(ids_path, ids);
  train::RunInputs in;
  in.dataset_dir = dataset_dir;
  in.identifiers_path = ids_path;
  in.prompts_path = train::default_prompts_path();
  in.samples.max_input_len = 128;
  in.samples.max_text_len = 128;
  train::RunPieces pieces = train::assemble_run(in);
  const LoopFigures plain = trainer_loop(pieces, tmp / "plain", batch, loop_steps, 0);
  const LoopFigures bucketed = trainer_loop(pieces, tmp / "bucketed", batch, loop_steps, 50);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return {plain, bucketed};

}

}  // namespace

int main(int argc, char** argv) {
  gensar::configure_tensor_heap();  // as gensar itself runs (core/common/tensor_heap.h)
  gensar::flush_denormals();      // likewise (core/common/cpu_numerics.h)
  int64_t steps = 10, batch = 64, src = 169, tgt = 6, vocab = 10000, loop_steps = 20;
  int threads = 1, round_count = 5;
  bool json = false;
  std::string dataset_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : "0"); };
    if (arg == "--steps") steps = std::stoll(next());
    else if (arg == "--batch") batch = std::stoll(next());
    else if (arg == "--src") src = std::stoll(next());
    else if (arg == "--tgt") tgt = std::stoll(next());
    else if (arg == "--vocab") vocab = std::stoll(next());
    else if (arg == "--loop-steps") loop_steps = std::stoll(next());
    else if (arg == "--threads") threads = std::stoi(next());
    else if (arg == "--rounds") round_count = std::max(1, std::stoi(next()));
    else if (arg == "--dataset") dataset_dir = next();
    else if (arg == "--json") json = true;
    else { std::fprintf(stderr, "bench_train: unknown option %s\n", arg.c_str()); return 2; }
  }
  torch::set_num_threads(threads);
  const std::vector<BareRound> rounds = bare_step_rounds(batch, src, tgt, vocab, steps, round_count, threads);
  std::vector<double> fused, composed, eager_rates, ratios, fusion_ratios, tuned_rates, tuned_ratios;
  std::vector<double> torch_rates, product_ratios, free_rates, free_ratios, free_torch_ratios;
  for (const auto& r : rounds) {
    fused.push_back(r.fused);
    composed.push_back(r.composed);
    fusion_ratios.push_back(r.fused / r.composed);
    torch_rates.push_back(r.torch_products);
    product_ratios.push_back(r.fused / r.torch_products);
    if (r.eager > 0) eager_rates.push_back(r.eager), ratios.push_back(r.fused / r.eager);
    if (r.eager_heap_tuned > 0)
      tuned_rates.push_back(r.eager_heap_tuned), tuned_ratios.push_back(r.fused / r.eager_heap_tuned);
    if (r.eager_fault_free > 0) {
      free_rates.push_back(r.eager_fault_free);
      free_ratios.push_back(r.fused / r.eager_fault_free);
      free_torch_ratios.push_back(r.torch_products / r.eager_fault_free);
    }
  }
  const bool have_eager = ratios.size() == rounds.size() && tuned_ratios.size() == rounds.size();
  const bool have_free = free_ratios.size() == rounds.size();
  const double bare = median(fused);
  const double eager = have_eager ? median(eager_rates) : -1;
  const double ratio = have_eager ? median(ratios) : -1;
  const double tuned_ratio = have_eager ? median(tuned_ratios) : -1;
  auto or_null = [](bool ok, const auto& v) { return ok ? nlohmann::json(v) : nlohmann::json(nullptr); };
  const auto* cache = gensar::installed_tensor_cache();
  const auto cache_stats = cache ? cache->stats() : TensorBlockCache::Stats{};
  const double cache_hit_share =
      cache_stats.hits / std::max(1.0, double(cache_stats.hits + cache_stats.misses));

  // The trainer loop on Scientific (skipped with --loop-steps 0).
  LoopFigures plain, bucketed;
  const bool have_loop = loop_steps > 0;
  if (have_loop) std::tie(plain, bucketed) = trainer_loops(dataset_dir, batch, loop_steps);

  nlohmann::ordered_json j = {
      {"batch", batch}, {"src", src}, {"tgt", tgt}, {"vocab", vocab}, {"threads", threads},
      {"blas", bench::blas_core()},
      {"rounds", round_count},
      {"samples_per_s", bare},
      {"composed_dropout_samples_per_s", median(composed)},
      {"fusion_speedup", median(fusion_ratios)},
      {"eager_samples_per_s", or_null(have_eager, eager)},
      {"ratio", or_null(have_eager, ratio)},
      {"eager_heap_tuned_samples_per_s", or_null(have_eager, median(tuned_rates))},
      {"ratio_vs_heap_tuned_eager", or_null(have_eager, tuned_ratio)},
      {"ratio_rounds", or_null(have_eager, ratios)},
      {"ratio_vs_heap_tuned_eager_rounds", or_null(have_eager, tuned_ratios)},
      {"samples_per_s_rounds", fused},
      {"eager_samples_per_s_rounds", eager_rates},
      {"eager_heap_tuned_samples_per_s_rounds", tuned_rates},
      {"products", gemm::backend_name(gemm::backend())},
      {"torch_products_samples_per_s", median(torch_rates)},
      {"products_speedup", median(product_ratios)},
      {"eager_fault_free_samples_per_s", or_null(have_free, median(free_rates))},
      {"ratio_vs_fault_free_eager", or_null(have_free, median(free_ratios))},
      {"torch_products_ratio_vs_fault_free_eager", or_null(have_free, median(free_torch_ratios))},
      {"ratio_vs_fault_free_eager_rounds", or_null(have_free, free_ratios)},
      {"tensor_cache_hit_share", cache_hit_share},
      {"trainer_samples_per_s", or_null(have_loop, bucketed.samples_per_s)},
      {"trainer_unbucketed_samples_per_s", or_null(have_loop, plain.samples_per_s)},
      {"bucketing_speedup", or_null(have_loop, bucketed.samples_per_s / plain.samples_per_s)},
      {"padding_share", or_null(have_loop, bucketed.padding)},
      {"unbucketed_padding_share", or_null(have_loop, plain.padding)}};
  if (json) {
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("bare step, tiger, batch %lld, %lld+%lld tokens, vocab %lld, %d thread(s), %s, "
              "products %s, median of %d rounds: %.1f samples/s\n",
              static_cast<long long>(batch), static_cast<long long>(src), static_cast<long long>(tgt),
              static_cast<long long>(vocab), threads, bench::blas_core().c_str(),
              gemm::backend_name(gemm::backend()), round_count, bare);
  std::printf("the same step with its products through LibTorch (eager's kernels): %.1f samples/s "
              "(products x%.2f)\n", median(torch_rates), median(product_ratios));
  std::printf("the same step with the composed softmax/ReLU and dropout ops: %.1f samples/s (fused x%.2f)\n",
              median(composed), median(fusion_ratios));
  if (have_eager) {
    std::printf("PyTorch eager, same shape and kernels:                 %.1f samples/s (ratio %.2f, "
                "median of the rounds' ratios)\n", eager, ratio);
    std::printf("ratio per round (gensar / eager, back to back):");
    for (double r : ratios) std::printf(" %.2f", r);
    std::printf("\n");
    std::printf("PyTorch eager with gensar's glibc heap settings:       %.1f samples/s (ratio %.2f)\n",
                median(tuned_rates), tuned_ratio);
    std::printf("ratio per round (gensar / heap-tuned eager):");
    for (double r : tuned_ratios) std::printf(" %.2f", r);
    std::printf("\n");
    if (have_free) {
      std::printf("PyTorch eager, no page faults (jemalloc, purging off): %.1f samples/s (ratio %.2f; "
                  "gensar on LibTorch products %.2f)\n",
                  median(free_rates), median(free_ratios), median(free_torch_ratios));
      std::printf("ratio per round (gensar / fault-free eager):");
      for (double r : free_ratios) std::printf(" %.2f", r);
      std::printf("\n");
    } else
      std::printf("fault-free eager skipped (install libjemalloc2: scripts/setup-bench.sh)\n");
  } else
    std::printf("PyTorch eager reference unavailable (install python3-torch)\n");
  std::printf("tensor block cache: %.1f%% of large requests served from freed blocks\n",
              100 * cache_hit_share);
  if (!have_loop) {
    std::printf("trainer loop skipped (--loop-steps 0)\n");
    return 0;
  }
  std::printf("trainer loop on Scientific, bucketing off: %.1f samples/s, padding %.0f%% of encoder tokens\n",
              plain.samples_per_s, 100 * plain.padding);
  std::printf("trainer loop on Scientific, bucketing on:  %.1f samples/s, padding %.0f%% (x%.2f)\n",
              bucketed.samples_per_s, 100 * bucketed.padding, bucketed.samples_per_s / plain.samples_per_s);
  return 0;
}
