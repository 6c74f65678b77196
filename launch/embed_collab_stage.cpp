#include "launch/embed_collab_stage.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/seqrec/collab_embeddings.h"
#include "core/seqrec/sasrec_eval.h"
#include "data_pipeline/checksum.h"
#include "data_pipeline/dataset.h"
#include "distributed/communicator.h"

namespace gensar::launch {
using namespace gensar::seqrec;
namespace fs = std::filesystem;

namespace {

// What the output depends on: the dataset (its manifest holds the shard checksums), the mode and
// its input file, the model and training settings. Paths and prefetch do not change the result.
std::string config_hash(const EmbedCollabOptions& o, const data::Dataset& dataset) {
  nlohmann::json j;
  j["mode"] = o.mode;
  j["dataset_manifest"] = data::xxh64_hex(data::xxh64(dataset.manifest_json()));
  if (o.mode == "file") {
    j["input"] = data::file_checksum(o.input);
    if (!o.input_keys.empty()) j["input_keys"] = data::file_checksum(o.input_keys);
  } else {
    j["model"] = nlohmann::json::parse(o.model.to_json());
    j["epochs"] = o.train.epochs;
    j["batch_size"] = o.train.batch_size;
    j["lr"] = o.train.lr;
    j["seed"] = o.train.seed;
  }
  return data::xxh64_hex(data::xxh64(j.dump()));
}

std::string existing_hash(const std::string& path) {
  if (!fs::exists(path)) return "";
  try {
    return read_item_embeddings(path).config_hash;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

EmbedCollabResult run_embed_collab(EmbedCollabOptions o) {
  GENSAR_INPUT_CHECK(o.mode == "sasrec" || o.mode == "file",
                     "embed-collab: --mode must be 'sasrec' or 'file', got '{}'", o.mode);
  const data::Dataset dataset(o.dataset);
  if (o.out.empty()) o.out = (fs::path(o.dataset) / "collab_embeddings.h5").string();
  if (o.model_out.empty()) o.model_out = (fs::path(o.out).parent_path() / "sasrec_model.pt").string();
  if (o.mode == "file") GENSAR_INPUT_CHECK(!o.input.empty(), "embed-collab: --mode file needs --input");
  o.model.num_items = dataset.num_items();
  o.model.validate();

  EmbedCollabResult r;
  r.out = o.out;
  r.model_out = o.mode == "sasrec" ? o.model_out : "";
  r.config_hash = config_hash(o, dataset);
  std::shared_ptr<dist::Communicator> comm = dist::world();
  const int rank = comm ? comm->rank() : 0;
  // Every rank takes the same decision (they all read the same file).
  if (!o.force && existing_hash(o.out) == r.config_hash &&
      (o.mode == "file" || fs::exists(o.model_out))) {
    r.skipped = true;
    return r;
  }

  ItemEmbeddings table;
  if (o.mode == "file") {
    if (rank == 0) table = import_item_embeddings(o.input, o.input_keys, dataset);
  } else {
    const std::vector<std::vector<int32_t>> sequences = training_rec_sequences(dataset);
    SasRec model(o.model, o.train.seed);
    if (comm && comm->size() > 1) {
      // Identical initial weights on every rank: broadcast rank 0's.
      for (torch::Tensor& p : model.parameters()) {
        torch::NoGradGuard no_grad;
        torch::Tensor t = p.detach();
        comm->broadcast(t, 0);
      }
    }
    const SasRecTrainReport report = train_sasrec(model, sequences, o.train, comm.get());
    r.train_seconds = report.seconds;
    r.steps = report.steps;
    r.final_loss = report.epoch_losses.empty() ? 0.0 : report.epoch_losses.back();
    if (rank == 0) {
      torch::Tensor emb = model.item_embeddings();
      table.dim = emb.size(1);
      table.values.assign(emb.data_ptr<float>(), emb.data_ptr<float>() + emb.numel());
      for (int32_t i = 0; i < dataset.num_items(); ++i) table.keys.emplace_back(dataset.item_key(i));
      table.source = "sasrec";
      model.save(o.model_out);
      if (o.eval_examples != 0) {
        const RankingMetrics m = evaluate_full_ranking(model, dataset, data::Split::kValid,
                                                       o.eval_examples > 0 ? o.eval_examples : 0);
        r.eval_count = m.examples;
        r.valid_hr10 = m.hr10;
        r.valid_ndcg10 = m.ndcg10;
        GENSAR_INFO("seqrec", "validation (full ranking, {} examples): HR@5 {:.4f} NDCG@5 {:.4f} HR@10 {:.4f} NDCG@10 {:.4f}",
                    m.examples, m.hr5, m.ndcg5, m.hr10, m.ndcg10);
      }
    }
  }
  if (rank == 0) {
    table.config_hash = r.config_hash;
    write_item_embeddings(o.out, table);
    r.items = table.rows();
    r.dim = table.dim;
  }
  if (comm && comm->size() > 1) comm->barrier();
  return r;
}

}  // namespace gensar::launch
