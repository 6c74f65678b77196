// gensar embed-text: one semantic vector per dataset item from its text (title, brand, categories,
// description), written to <dataset>/text_embeddings.h5. See docs/embed-text.md.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "core/common/check.h"
#include "launch/embed_text_stage.h"
#include "distributed/communicator.h"
#include "launch/verbs.h"

namespace gensar::launch {

int run_embed_text_verb(const po::variables_map& vm) {
  EmbedTextOptions o;
  o.dataset = vm["dataset"].as<std::string>();
  o.encoder = vm["encoder"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  o.batch_size = vm["batch-size"].as<int>();
  o.dim = vm["dim"].as<int64_t>();
  o.seed = vm["seed"].as<uint64_t>();
  o.input = vm["input"].as<std::string>();
  o.input_keys = vm["input-keys"].as<std::string>();
  o.use_lite_dir = vm["use-lite-dir"].as<std::string>();
  // Every rank takes part (use-lite splits its batches over the ranks; run_embed_text says how a
  // failure on one rank reaches the others); rank 0 writes. A failure is shared so that every rank
  // exits with it (a sweep's shared-stages job, a pipeline on N ranks).
  auto world = dist::world();
  EmbedTextResult r;
  std::exception_ptr failure;
  std::string error;
  try {
    r = run_embed_text(o, vm["force"].as<bool>(), world.get());
  } catch (const std::exception& e) {
    failure = std::current_exception();
    error = e.what();
    if (error.empty()) error = "embed-text failed";
  }
  if (world->size() > 1) error = world->broadcast_bytes(error, 0);
  if (failure) std::rethrow_exception(failure);
  if (!error.empty()) throw InputError(fmt::format("rank 0: {}", error));
  if (world->rank() != 0) return 0;
  if (r.skipped) {
    std::printf("%s is up to date (%s)\n", r.out.c_str(), r.config_hash.c_str());
  } else {
    std::printf("%s: %lld items x %lld dims (%s), %.1f s, %.0f items/s, %s\n", r.out.c_str(),
                static_cast<long long>(r.items), static_cast<long long>(r.dim), o.encoder.c_str(),
                r.encode_seconds, r.items / (r.encode_seconds > 0 ? r.encode_seconds : 1e-9),
                r.config_hash.c_str());
  }
  return 0;
}

void add_embed_text_options(po::options_description& d) {
  d.add_options()
      ("dataset", po::value<std::string>()->required(), "ingested dataset directory")
      ("encoder", po::value<std::string>()->default_value("use-lite"),
       "use-lite (pretrained, 512-d) | tfidf-svd (no weights) | file (precomputed vectors)")
      ("out", po::value<std::string>()->default_value(""),
       "output HDF5 file (default <dataset>/text_embeddings.h5)")
      ("batch-size", po::value<int>()->default_value(64), "use-lite: texts per forward pass")
      ("dim", po::value<int64_t>()->default_value(0),
       "tfidf-svd: output width (0 = 256); file: required width (0 = the file's)")
      ("seed", po::value<uint64_t>()->default_value(42), "tfidf-svd: seed of the random projection")
      ("input", po::value<std::string>()->default_value(""),
       "file: precomputed embeddings, .h5 (/embeddings + /item_keys) or .npy")
      ("input-keys", po::value<std::string>()->default_value(""),
       "file: item keys of a .npy, one per line (default <input>.keys.txt)")
      ("use-lite-dir", po::value<std::string>()->default_value(""),
       "use-lite: model directory (default: where scripts/setup-npm.sh installs it)")
      ("force", po::bool_switch()->default_value(false),
       "recompute even if the output's config hash matches");
}

}  // namespace gensar::launch
