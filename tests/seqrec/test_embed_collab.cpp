// embed-collab end to end through the library: the training sequences respect the leave-one-out
// split of a real ingest, and the stage trains on the real Scientific dataset, writes
// collab_embeddings.h5 + the model, skips when up to date, and re-imports its own output.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "core/seqrec/collab_embeddings.h"
#include "core/seqrec/sasrec_trainer.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/readers/reader_factory.h"
#include "launch/embed_collab_stage.h"

namespace gensar::seqrec {
namespace {

namespace fs = std::filesystem;
using launch::EmbedCollabOptions;
using launch::EmbedCollabResult;
using launch::run_embed_collab;

std::string fresh_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("gensar-seqrec-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string ingest_lcrec(const std::string& prefix, const std::string& out) {
  auto reader = data::make_reader(data::ReaderSpec{"lcrec", prefix, ""});
  auto comm = data::single_ingest_comm();
  data::IngestOptions o;
  o.out = out;
  o.candidates = false;
  o.input_fingerprint = data::fingerprint_input(prefix);
  data::ingest(*reader, o, *comm);
  return out;
}

TEST(TrainingSequences, StopBeforeTheHeldOutTargets) {
  const std::string dir = fresh_dir("loo");
  std::ofstream(dir + "/T.item.json") << R"({
    "0": {"title": "a", "description": "", "brand": "x", "categories": "Tools,Saws"},
    "1": {"title": "b", "description": "", "brand": "x", "categories": "Tools,Drills"},
    "2": {"title": "c", "description": "", "brand": "x", "categories": "Tools,Saws"},
    "3": {"title": "d", "description": "", "brand": "x", "categories": "Tools,Glue"},
    "4": {"title": "e", "description": "", "brand": "x", "categories": "Tools,Tape"},
    "5": {"title": "f", "description": "", "brand": "x", "categories": "Tools,Tape"}})";
  std::ofstream(dir + "/T.inter.json") << R"({"u1": [0, 1, 2, 3, 4, 5], "u2": [5, 4, 3, 2]})";
  data::Dataset dataset(ingest_lcrec(dir + "/T", dir + "/out"));
  const auto sequences = training_rec_sequences(dataset);
  ASSERT_EQ(sequences.size(), 2u);
  // Leave-one-out: the last interaction is test, the one before validation, for both tasks.
  std::map<std::string, std::vector<std::string>> by_user;
  for (int32_t u = 0; u < dataset.num_users(); ++u)
    for (int32_t item : sequences[u]) by_user[dataset.user_key(u)].emplace_back(dataset.item_key(item));
  EXPECT_EQ(by_user["u1"], (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ(by_user["u2"], (std::vector<std::string>{"5", "4"}));
  // And no training sequence reaches a held-out rec target's event.
  for (data::Split split : {data::Split::kValid, data::Split::kTest}) {
    for (const data::Example& ex : dataset.examples(data::Task::kRec, split)) {
      const auto events = dataset.events(ex.user);
      int64_t rec_before = 0;
      for (int32_t i = 0; i < ex.event_index; ++i) rec_before += events[i].kind == data::EventKind::kRec;
      EXPECT_LE(static_cast<int64_t>(sequences[ex.user].size()), rec_before);
    }
  }
}

TEST(EmbedCollab, TrainsOnScientificWritesSkipsAndReimports) {
  torch::set_num_threads(1);
  const std::string dir = fresh_dir("sci");
  const std::string dataset_dir =
      ingest_lcrec(std::string(GENSAR_DATASETS_DIR) + "/amazon18-scientific/Scientific", dir + "/data");
  EmbedCollabOptions o;
  o.dataset = dataset_dir;
  o.out = dir + "/collab.h5";
  o.model.hidden = 32;
  o.train.epochs = 2;  // a smoke run: the learning itself is tested on the successor pattern
  o.eval_examples = 200;
  EmbedCollabResult r = run_embed_collab(o);
  EXPECT_FALSE(r.skipped);
  EXPECT_EQ(r.items, 4344);
  EXPECT_EQ(r.dim, 32);
  EXPECT_EQ(r.eval_count, 200);
  EXPECT_TRUE(fs::exists(dir + "/sasrec_model.pt"));
  ItemEmbeddings table = read_item_embeddings(o.out);
  data::Dataset dataset(dataset_dir);
  ASSERT_EQ(table.rows(), dataset.num_items());
  for (int32_t i = 0; i < dataset.num_items(); i += 500) EXPECT_EQ(table.keys[i], dataset.item_key(i));
  EXPECT_EQ(table.config_hash, r.config_hash);
  for (float v : table.values) ASSERT_TRUE(std::isfinite(v));
  // The saved model's table is the written one.
  SasRec model = SasRec::load(dir + "/sasrec_model.pt");
  torch::Tensor emb = model.item_embeddings();
  EXPECT_TRUE(torch::equal(emb, torch::from_blob(table.values.data(), {table.rows(), table.dim}).clone()));

  // Same config: up to date.
  EXPECT_TRUE(run_embed_collab(o).skipped);

  // File mode re-imports the output unchanged.
  EmbedCollabOptions imp;
  imp.dataset = dataset_dir;
  imp.mode = "file";
  imp.input = o.out;
  imp.out = dir + "/imported.h5";
  EmbedCollabResult ri = run_embed_collab(imp);
  ItemEmbeddings back = read_item_embeddings(imp.out);
  EXPECT_EQ(back.values, table.values);
  EXPECT_EQ(back.keys, table.keys);
  EXPECT_EQ(back.source, "file:" + o.out);
  EXPECT_NE(ri.config_hash, r.config_hash);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gensar::seqrec
