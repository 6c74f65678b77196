// gensar embed-collab: collaborative item embeddings, trained with SASRec on the dataset's training
// rec sequences (data-parallel under mpirun) or imported from a file. See docs/sasrec.md.
#include <cstdio>

#include "launch/embed_collab_stage.h"
#include "launch/verbs.h"

namespace gensar::launch {

int run_embed_collab_verb(const po::variables_map& vm) {
  EmbedCollabOptions o;
  o.dataset = vm["dataset"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  o.model_out = vm["model-out"].as<std::string>();
  o.mode = vm["mode"].as<std::string>();
  o.input = vm["input"].as<std::string>();
  o.input_keys = vm["input-keys"].as<std::string>();
  o.model.max_len = vm["max-len"].as<int64_t>();
  o.model.hidden = vm["hidden"].as<int64_t>();
  o.model.blocks = vm["blocks"].as<int64_t>();
  o.model.heads = vm["heads"].as<int64_t>();
  o.model.dropout = vm["dropout"].as<double>();
  o.model.loss = vm["loss"].as<std::string>();
  o.train.epochs = vm["epochs"].as<int64_t>();
  o.train.batch_size = vm["batch-size"].as<int64_t>();
  o.train.lr = vm["lr"].as<double>();
  o.train.seed = vm["seed"].as<uint64_t>();
  o.train.prefetch = vm["prefetch"].as<int>();
  o.eval_examples = vm["eval-examples"].as<int64_t>();
  o.force = vm["force"].as<bool>();
  const EmbedCollabResult r = run_embed_collab(o);
  if (r.skipped) {
    std::printf("%s is up to date (%s)\n", r.out.c_str(), r.config_hash.c_str());
  } else if (!r.out.empty() && r.items > 0) {
    std::printf("%s: %lld items x %lld dims (%s), %s\n", r.out.c_str(), static_cast<long long>(r.items),
                static_cast<long long>(r.dim), o.mode.c_str(), r.config_hash.c_str());
    if (o.mode == "sasrec") {
      std::printf("trained %lld steps in %.1f s, final loss %.4f; model %s\n",
                  static_cast<long long>(r.steps), r.train_seconds, r.final_loss, r.model_out.c_str());
      if (r.eval_count > 0)
        std::printf("validation, full ranking over all items (%lld examples): HR@10 %.4f NDCG@10 %.4f\n",
                    static_cast<long long>(r.eval_count), r.valid_hr10, r.valid_ndcg10);
    }
  }
  return 0;
}

void add_embed_collab_options(po::options_description& d) {
  d.add_options()
      ("dataset", po::value<std::string>()->required(), "ingested dataset directory")
      ("out", po::value<std::string>()->default_value(""),
       "output HDF5 file (default <dataset>/collab_embeddings.h5)")
      ("model-out", po::value<std::string>()->default_value(""),
       "sasrec: model weights for evaluation (default sasrec_model.pt beside --out)")
      ("mode", po::value<std::string>()->default_value("sasrec"),
       "sasrec (train) | file (import precomputed vectors)")
      ("input", po::value<std::string>()->default_value(""),
       "file: precomputed embeddings, .h5 (/embeddings + /item_keys) or .npy")
      ("input-keys", po::value<std::string>()->default_value(""),
       "file: item keys of a .npy (or overriding an .h5's), one per line")
      ("epochs", po::value<int64_t>()->default_value(50), "sasrec: passes over the training users")
      ("batch-size", po::value<int64_t>()->default_value(128),
       "sasrec: users per optimiser step, across all data-parallel ranks")
      ("lr", po::value<double>()->default_value(1e-3), "sasrec: Adam learning rate")
      ("max-len", po::value<int64_t>()->default_value(50), "sasrec: most recent items kept per user")
      ("hidden", po::value<int64_t>()->default_value(64), "sasrec: embedding width (the output dim)")
      ("blocks", po::value<int64_t>()->default_value(2), "sasrec: self-attention blocks")
      ("heads", po::value<int64_t>()->default_value(1), "sasrec: attention heads")
      ("dropout", po::value<double>()->default_value(0.2),
       "sasrec: dropout (the paper: 0.2 dense data, 0.5 sparse data such as Amazon)")
      ("loss", po::value<std::string>()->default_value("bce"),
       "sasrec: bce (one sampled negative per position, the paper) | ce (full softmax)")
      ("seed", po::value<uint64_t>()->default_value(42), "sasrec: initialisation, order and negatives")
      ("prefetch", po::value<int>()->default_value(2), "sasrec: batches built ahead on a thread")
      ("eval-examples", po::value<int64_t>()->default_value(1000),
       "sasrec: validation examples ranked after training (0 = skip, -1 = all)")
      ("force", po::bool_switch()->default_value(false),
       "recompute even if the output's config hash matches");
}

}  // namespace gensar::launch
