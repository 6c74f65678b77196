// Reader throughput (samples/s) with and without the prefetch thread. The sample builder is made
// deliberately costly (a hash chain per sample, like tokenising and padding an example), and the
// consumer spends comparable time per batch (standing in for a training step), so prefetch can
// overlap the two. Both figures come from the same run; the ratio is prefetch / no prefetch.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "data_pipeline/sample_order.h"
#include "data_pipeline/streaming_reader.h"

namespace {

using gensar::data::mix64;

uint64_t burn(uint64_t x, int rounds) {
  for (int i = 0; i < rounds; ++i) x = mix64(x);
  return x;
}

struct Result {
  double samples_per_s;
  uint64_t checksum;
};

Result run(int prefetch, int64_t num_samples, int64_t batch, int build_rounds, int step_rounds) {
  gensar::data::SampleOrder order(num_samples, 7);
  gensar::data::ReaderOptions options;
  options.prefetch = prefetch;
  options.total_samples = num_samples;
  gensar::data::StreamingReader<std::vector<uint64_t>> reader(
      order, {batch, 0, 1},
      [build_rounds](const std::vector<int64_t>& samples) {
        std::vector<uint64_t> out;
        out.reserve(samples.size());
        for (int64_t s : samples) out.push_back(burn(static_cast<uint64_t>(s), build_rounds));
        return out;
      },
      options);
  uint64_t checksum = 0;
  int64_t consumed = 0;
  const auto start = std::chrono::steady_clock::now();
  while (auto b = reader.next()) {
    for (uint64_t v : b->batch) checksum ^= burn(v, step_rounds);  // the "training step"
    consumed += static_cast<int64_t>(b->batch.size());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {consumed / seconds, checksum};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t num_samples = argc > 1 ? std::atoll(argv[1]) : 200000;
  const int64_t batch = 128;
  const int build_rounds = 400;  // ~1 us per sample on this machine
  const int step_rounds = 400;
  std::printf("bench_reader: %lld samples, batch %lld, builder %d hash rounds/sample, "
              "consumer %d rounds/sample\n",
              static_cast<long long>(num_samples), static_cast<long long>(batch), build_rounds,
              step_rounds);
  // Builder alone (no consumer work): the reader's own ceiling.
  const Result ceiling = run(0, num_samples, batch, build_rounds, 0);
  const Result sync = run(0, num_samples, batch, build_rounds, step_rounds);
  const Result pre = run(4, num_samples, batch, build_rounds, step_rounds);
  if (sync.checksum != pre.checksum) {
    std::printf("ERROR: prefetch changed the stream (checksums differ)\n");
    return 1;
  }
  std::printf("%-36s %12.0f samples/s\n", "builder only, no consumer", ceiling.samples_per_s);
  std::printf("%-36s %12.0f samples/s\n", "with consumer, no prefetch", sync.samples_per_s);
  std::printf("%-36s %12.0f samples/s   (x%.2f vs no prefetch)\n", "with consumer, prefetch 4",
              pre.samples_per_s, pre.samples_per_s / sync.samples_per_s);
  return 0;
}
