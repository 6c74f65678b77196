// gensar index: the joint RQ-VAE (shared + specific codebooks) -> identifiers.h5. See docs/identifiers.md.
#include <fmt/format.h>

#include <cstdio>
#include <sstream>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/rqvae/embedding_table.h"
#include "core/rqvae/rqvae_trainer.h"
#include "distributed/communicator.h"
#include "launch/verbs.h"

namespace gensar::launch {

namespace {

// "256" or "256,128": one entry per level; a single value is repeated `levels` times.
std::vector<int64_t> parse_sizes(const std::string& option, const std::string& text, int levels) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(part, &used);
      GENSAR_INPUT_CHECK(used == part.size() && v > 0, "--{}: '{}' is not a positive integer", option, part);
      out.push_back(v);
    } catch (const std::logic_error&) {
      throw InputError(fmt::format("--{}: '{}' is not a positive integer", option, part));
    }
  }
  GENSAR_INPUT_CHECK(!out.empty(), "--{} is empty", option);
  if (levels < 0) return out;
  if (out.size() == 1) out.assign(levels, out[0]);
  GENSAR_INPUT_CHECK(static_cast<int>(out.size()) == levels, "--{} lists {} sizes for {} levels", option,
                     out.size(), levels);
  return out;
}

}  // namespace

void add_index_options(po::options_description& d) {
  d.add_options()
      ("text", po::value<std::string>(), "semantic embeddings (HDF5: /item_keys, /embeddings) [required]")
      ("collab", po::value<std::string>(), "collaborative embeddings, same layout [required]")
      ("out", po::value<std::string>()->default_value("identifiers.h5"), "output identifiers file")
      ("hidden", po::value<std::string>()->default_value("512,256,128,64,32"),
       "encoder widths after the input; the last is the per-modality latent (decoders mirror)")
      ("shared-levels", po::value<int>()->default_value(2), "shared residual levels over concat(z_s, z_c)")
      ("shared-codes", po::value<std::string>()->default_value("256"), "codes per shared level (one or a list)")
      ("specific-levels", po::value<int>()->default_value(2), "semantic-only and collaborative-only levels each")
      ("specific-codes", po::value<std::string>()->default_value("256"), "codes per specific level (one or a list)")
      ("no-shared", po::bool_switch(),
       "ablation: no shared levels, two independent RQ-VAEs; the shared levels move to the specific "
       "ones so IDs keep their length")
      ("id-mode", po::value<std::string>()->default_value("joint"),
       "joint | semantic-only | collab-only (the latter two: both tasks use that one identifier)")
      ("beta", po::value<double>()->default_value(0.25), "commitment weight")
      ("sem-recon-weight", po::value<double>()->default_value(1.0), "weight of the semantic reconstruction MSE")
      ("col-recon-weight", po::value<double>()->default_value(1.0), "weight of the collaborative reconstruction MSE")
      ("vq-weight", po::value<double>()->default_value(1.0), "weight of the mean VQ loss")
      ("sk-epsilon", po::value<double>()->default_value(0.003),
       "Sinkhorn epsilon on the last specific level in training (<= 0: argmin)")
      ("sk-iterations", po::value<int>()->default_value(50), "Sinkhorn-Knopp iterations")
      ("epochs", po::value<int>()->default_value(100), "training epochs (paper: 500)")
      ("warmup-epochs", po::value<int>()->default_value(10), "linear warm-up epochs, then linear decay (paper: 50)")
      ("batch-size", po::value<int>()->default_value(1024), "items per batch (global over ranks)")
      ("lr", po::value<double>()->default_value(1e-3), "AdamW learning rate")
      ("codebook-lr-scale", po::value<double>()->default_value(1.0),
       "codebook learning rate = lr x this (paper: 1; >1 keeps codebooks tracking the encoder)")
      ("weight-decay", po::value<double>()->default_value(1e-5), "AdamW weight decay")
      ("grad-clip", po::value<double>()->default_value(1.0), "gradient-norm clip (<= 0: off)")
      ("kmeans-iterations", po::value<int>()->default_value(20), "Lloyd iterations of the first-batch k-means init")
      ("eval-every", po::value<int>()->default_value(5), "epochs between checkpoint evaluations")
      ("steps", po::value<int64_t>()->default_value(0),
       "training budget in optimiser steps (0 = from --epochs); warm-up keeps its share")
      ("standardize", po::value<bool>()->default_value(true),
       "z-score every input dimension over the items before training")
      ("reseed-every", po::value<int>()->default_value(100),
       "steps between re-seeding unused codes from current residuals (0 = off)")
      ("select", po::value<std::string>()->default_value("recon"),
       "kept checkpoint: recon (lowest reconstruction MSE) | collision (lowest collision rate)")
      ("seed", po::value<uint64_t>()->default_value(2024), "random seed (same seed, same identifiers)")
      ("decollide-rounds", po::value<int>()->default_value(20), "Sinkhorn re-assignment rounds before the suffix")
      ("chunk-rows", po::value<int64_t>()->default_value(65536), "rows per chunk of distance computations")
      ("collapse-warn", po::value<double>()->default_value(0.1),
       "warn when a level uses fewer than this fraction of min(codes, items) codes");
}

int run_index(const po::variables_map& vm) {
  GENSAR_INPUT_CHECK(vm.count("text"), "index: --text FILE is required");
  GENSAR_INPUT_CHECK(vm.count("collab"), "index: --collab FILE is required");
  rqvae::RqvaeOptions o;
  o.hidden = parse_sizes("hidden", vm["hidden"].as<std::string>(), -1);
  int shared_levels = vm["shared-levels"].as<int>();
  int specific_levels = vm["specific-levels"].as<int>();
  GENSAR_INPUT_CHECK(shared_levels >= 0 && specific_levels >= 0, "level counts must be >= 0");
  std::vector<int64_t> shared_codes =
      shared_levels ? parse_sizes("shared-codes", vm["shared-codes"].as<std::string>(), shared_levels)
                    : std::vector<int64_t>{};
  std::vector<int64_t> specific_codes =
      specific_levels ? parse_sizes("specific-codes", vm["specific-codes"].as<std::string>(), specific_levels)
                      : std::vector<int64_t>{};
  if (vm["no-shared"].as<bool>()) {
    // Independent RQ-VAEs of the same depth: the shared levels' sizes go in front of the specific ones.
    specific_codes.insert(specific_codes.begin(), shared_codes.begin(), shared_codes.end());
    shared_codes.clear();
  }
  o.shared_codes = shared_codes;
  o.sem_codes = specific_codes;
  o.col_codes = specific_codes;
  o.id_mode = rqvae::parse_id_mode(vm["id-mode"].as<std::string>());
  o.beta = vm["beta"].as<double>();
  o.sem_recon_weight = vm["sem-recon-weight"].as<double>();
  o.col_recon_weight = vm["col-recon-weight"].as<double>();
  o.vq_weight = vm["vq-weight"].as<double>();
  o.sinkhorn_epsilon = vm["sk-epsilon"].as<double>();
  o.sinkhorn_iterations = vm["sk-iterations"].as<int>();
  o.epochs = vm["epochs"].as<int>();
  o.warmup_epochs = vm["warmup-epochs"].as<int>();
  o.batch_size = vm["batch-size"].as<int>();
  o.lr = vm["lr"].as<double>();
  o.codebook_lr_scale = vm["codebook-lr-scale"].as<double>();
  o.weight_decay = vm["weight-decay"].as<double>();
  o.grad_clip = vm["grad-clip"].as<double>();
  o.kmeans_iterations = vm["kmeans-iterations"].as<int>();
  o.eval_every = vm["eval-every"].as<int>();
  o.steps = vm["steps"].as<int64_t>();
  o.standardize = vm["standardize"].as<bool>();
  o.reseed_every = vm["reseed-every"].as<int>();
  o.select = vm["select"].as<std::string>();
  o.seed = vm["seed"].as<uint64_t>();
  o.decollide_rounds = vm["decollide-rounds"].as<int>();
  o.chunk_rows = vm["chunk-rows"].as<int64_t>();
  o.collapse_warn = vm["collapse-warn"].as<double>();
  GENSAR_INPUT_CHECK(o.chunk_rows > 0, "--chunk-rows must be > 0");

  rqvae::EmbeddingTable text = rqvae::read_embedding_table(vm["text"].as<std::string>());
  rqvae::EmbeddingTable collab = rqvae::align_to(text, rqvae::read_embedding_table(vm["collab"].as<std::string>()));
  GENSAR_INFO("index", "{} items; semantic dim {}, collaborative dim {}", text.rows(), text.dim, collab.dim);
  std::string config_text = dump_config(*find_verb("index"), vm);
  // Under mpirun every rank trains on a slice of each batch (data parallel, gradients averaged) and
  // ends with the same identifiers; rank 0 alone writes the file, the others wait for it.
  auto world = dist::world();
  rqvae::RqvaeResult result =
      rqvae::build_identifiers(text, collab, o, config_text, world->size() > 1 ? world : nullptr);
  const std::string out = vm["out"].as<std::string>();
  if (world->rank() == 0) rqvae::write_identifiers_file(out, result, config_text);
  world->barrier();
  if (world->rank() != 0) return 0;

  const auto& r = result.report;
  std::printf("items                 %lld\n", static_cast<long long>(text.rows()));
  std::printf("kept epoch            %d (mean collision %.4f)\n", r["best_epoch"].get<int>(),
              r["mean_collision_rate_at_best"].get<double>());
  std::printf("recon MSE             semantic %.6f  collaborative %.6f\n", r["recon_mse_sem"].get<double>(),
              r["recon_mse_col"].get<double>());
  for (const char* side : {"semantic", "collaborative"}) {
    const auto& s = r[side];
    std::printf("%-14s collision %.4f -> %.4f (Sinkhorn, %d rounds) -> %.4f; %lld items with a "
                "non-zero suffix; length %d\n",
                side, s["collision_rate_before"].get<double>(), s["collision_rate_after_sinkhorn"].get<double>(),
                s["sinkhorn_rounds"].get<int>(), s["collision_rate_after"].get<double>(),
                static_cast<long long>(s["suffixed_items"].get<int64_t>()), s["length"].get<int>());
  }
  for (const auto& l : r["levels"])
    std::printf("level %-6s         %4d/%-4d codes used, perplexity %.1f\n", l["level"].get<std::string>().c_str(),
                l["used"].get<int>(), l["codes"].get<int>(), l["perplexity"].get<double>());
  for (const auto& w : result.warnings) std::printf("WARNING: %s\n", w.c_str());
  std::printf("wrote %s and %s\n", out.c_str(), rqvae::report_path_for(out).c_str());
  return 0;
}

}  // namespace gensar::launch
