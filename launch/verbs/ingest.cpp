// gensar ingest: a raw log -> a dataset directory (docs/ingest.md). Collective under mpirun.
#include <cstdio>

#include "core/common/check.h"
#include "data_pipeline/bm25.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/readers/reader_factory.h"
#include "distributed/watchdog.h"
#include "launch/ranged_option.h"
#include "launch/verbs.h"

namespace gensar::launch {

void add_ingest_options(po::options_description& d) {
  d.add_options()
      ("format", po::value<std::string>()->default_value("lcrec"),
       "source format: lcrec | p5 | recbole | tsv | synthetic")
      ("input", po::value<std::string>()->default_value(""),
       "source: path prefix or directory (lcrec, p5, recbole), events TSV (tsv), key=value,... (synthetic)")
      ("items", po::value<std::string>()->default_value(""), "tsv: the items TSV")
      ("out", po::value<std::string>()->default_value(""), "dataset directory to write")
      ("search-events", po::value<std::string>()->default_value("all"),
       "sources without queries: which interactions also yield a search click: all | fraction | none")
      ("search-fraction", ranged<double>(0.0, 1.0)->default_value(1.0),
       "with --search-events fraction: the share of interactions (seeded hash per interaction)")
      ("split", po::value<std::string>()->default_value("loo"), "split protocol: loo | temporal")
      ("min-prior-rec", ranged<int>(0)->default_value(1),
       "an example needs at least this many earlier rec events")
      ("min-prior-search", ranged<int>(0)->default_value(1),
       "an example needs at least this many earlier search events")
      ("test-start", ranged<int64_t>(-1)->default_value(-1),
       "temporal split: examples at or after this time (s since epoch) are test")
      ("valid-start", ranged<int64_t>(-1)->default_value(-1),
       "temporal split: examples in [valid-start, test-start) are validation (-1: none)")
      ("memory-budget-mb", ranged<int64_t>(16)->default_value(1024), "memory budget of the ingest")
      ("buckets", ranged<int>(1, 4096)->default_value(256), "user-hash buckets (temporary files)")
      ("shard-mb", ranged<int64_t>(1)->default_value(64),
       "target size of a shard's temporary data (capped at a quarter of the budget)")
      ("seed", ranged<uint64_t>(0)->default_value(2025), "seed of search-event selection and candidates")
      ("candidates", po::value<bool>()->default_value(true), "write fixed evaluation candidates")
      ("negatives", ranged<int>(0)->default_value(99), "negatives per evaluation example")
      ("bm25-fields", po::value<std::string>()->default_value("title-description"),
       "item fields of the BM25 document behind the search negatives: title-description (the "
       "paper's reference) | all (adds brand and categories)")
      ("threads", ranged<int>(0)->default_value(1), "worker threads for candidates")
      ("force", po::bool_switch(), "rebuild even if the output is up to date")
      ("collective-timeout", ranged<double>(0.0)->default_value(dist::collective_timeout()),
       "under mpirun: seconds a collective may block before the job aborts (exit 70); 0 disables");
}

int run_ingest(const po::variables_map& vm) {
  data::ReaderSpec spec;
  spec.format = vm["format"].as<std::string>();
  spec.input = vm["input"].as<std::string>();
  spec.items = vm["items"].as<std::string>();

  data::IngestOptions o;
  o.out = vm["out"].as<std::string>();
  o.search_events = vm["search-events"].as<std::string>();
  o.search_fraction = vm["search-fraction"].as<double>();
  o.split.protocol = vm["split"].as<std::string>();
  o.split.min_prior_rec = vm["min-prior-rec"].as<int>();
  o.split.min_prior_search = vm["min-prior-search"].as<int>();
  o.split.test_start = vm["test-start"].as<int64_t>();
  o.split.valid_start = vm["valid-start"].as<int64_t>();
  o.memory_budget_mb = vm["memory-budget-mb"].as<int64_t>();
  o.buckets = vm["buckets"].as<int>();
  o.shard_mb = vm["shard-mb"].as<int64_t>();
  o.seed = vm["seed"].as<uint64_t>();
  o.candidates = vm["candidates"].as<bool>();
  o.candidate_negatives = vm["negatives"].as<int>();
  o.bm25_fields = vm["bm25-fields"].as<std::string>();
  data::parse_bm25_fields(o.bm25_fields);  // reject a bad value before any work
  o.threads = vm["threads"].as<int>();
  o.force = vm["force"].as<bool>();
  if (spec.format != "synthetic") {
    o.input_fingerprint = data::fingerprint_input(spec.input);
    if (!spec.items.empty()) o.input_fingerprint += data::fingerprint_input(spec.items);
  }
  data::validate(o);
  dist::set_collective_timeout(vm["collective-timeout"].as<double>());

  auto comm = data::world_ingest_comm();
  auto reader = data::make_reader(spec);
  data::IngestResult r = data::ingest(*reader, o, *comm);
  if (comm->rank() == 0) {
    std::printf("%s %s: %lld users, %lld items, %lld queries, %lld rec + %lld search events, %d shards%s\n",
                r.skipped ? "up to date" : "wrote", o.out.c_str(), static_cast<long long>(r.users),
                static_cast<long long>(r.items), static_cast<long long>(r.queries),
                static_cast<long long>(r.rec_events), static_cast<long long>(r.search_events),
                r.shards, r.skipped ? " (use --force to rebuild)" : "");
  }
  return 0;
}

}  // namespace gensar::launch
