// Ingest throughput and peak memory on a synthetic joint log.
//
//   bench_ingest [--events N] [--budget-mb MB] [--buckets B] [--dir PATH] [--keep]
//
// Default: 2,000,000 events (a quick run). The documented full run (issue 2) is
//   bench_ingest --events 50000000 --budget-mb 1024
// It prints the generator alone (events/s into a sink that drops them: the baseline), then the
// full ingest (events/s, seconds, peak RSS of the process), and their ratio.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "data_pipeline/ingest.h"
#include "data_pipeline/readers/reader_factory.h"

namespace {

using gensar::data::RawEvent;
using gensar::data::RawItem;

struct CountingSink : gensar::data::RawSink {
  int64_t items = 0, events = 0;
  void item(RawItem&&) override { ++items; }
  void event(RawEvent&&) override { ++events; }
};

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 2'000'000;
  int64_t budget_mb = 1024;
  int buckets = 256;
  std::string dir = "/tmp/gensar-bench-ingest";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--events") events = std::atoll(next().c_str());
    else if (a == "--budget-mb") budget_mb = std::atoll(next().c_str());
    else if (a == "--buckets") buckets = std::atoi(next().c_str());
    else if (a == "--dir") dir = next();
    else if (a == "--keep") keep = true;
    else {
      std::fprintf(stderr, "usage: bench_ingest [--events N] [--budget-mb MB] [--buckets B] [--dir PATH] [--keep]\n");
      return 2;
    }
  }
  // 20 events per user on average; one item per 10 users (at least 5,000).
  const int64_t users = std::max<int64_t>(1, events / 20);
  const int64_t items = std::max<int64_t>(5000, users / 10);
  const std::string spec = "users=" + std::to_string(users) + ",items=" + std::to_string(items) +
                           ",events_per_user=20,seed=7";
  std::printf("bench_ingest: synthetic %s (about %lld events), budget %lld MiB, %d buckets\n",
              spec.c_str(), static_cast<long long>(events), static_cast<long long>(budget_mb), buckets);

  // Baseline: the generator alone.
  auto t0 = std::chrono::steady_clock::now();
  CountingSink counter;
  gensar::data::make_reader({"synthetic", spec, ""})->read(counter);
  double gen_s = seconds_since(t0);
  double gen_rate = static_cast<double>(counter.events) / gen_s;
  std::printf("  generator only : %lld events in %.2f s = %.0f events/s (peak RSS so far %.0f MiB)\n",
              static_cast<long long>(counter.events), gen_s, gen_rate, peak_rss_mib());

  gensar::data::IngestOptions o;
  o.out = dir + "/dataset";
  o.memory_budget_mb = budget_mb;
  o.buckets = buckets;
  o.candidates = false;  // candidates are benchmarked with BM25 (their own cost); this is ingest
  o.force = true;
  std::filesystem::create_directories(dir);
  auto reader = gensar::data::make_reader({"synthetic", spec, ""});
  auto comm = gensar::data::single_ingest_comm();
  t0 = std::chrono::steady_clock::now();
  auto r = gensar::data::ingest(*reader, o, *comm);
  double ingest_s = seconds_since(t0);
  int64_t total = r.rec_events + r.search_events;
  double rate = static_cast<double>(total) / ingest_s;
  double rss = peak_rss_mib();
  std::printf("  ingest         : %lld events (%lld rec + %lld search), %lld users, %d shards in %.2f s = %.0f events/s\n",
              static_cast<long long>(total), static_cast<long long>(r.rec_events),
              static_cast<long long>(r.search_events), static_cast<long long>(r.users), r.shards,
              ingest_s, rate);
  std::printf("  peak RSS       : %.0f MiB (budget %lld MiB) -> %s\n", rss,
              static_cast<long long>(budget_mb), rss <= static_cast<double>(budget_mb) ? "within" : "OVER");
  std::printf("  ingest / generator throughput ratio: %.2f\n", rate / gen_rate);
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
