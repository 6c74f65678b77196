// A tiny joint log (8 items, 6 users, rec clicks, every second one also a search click), ingested
// through data_pipeline's ingest API, tiny identifiers built with identifiers.h's API, a small
// tokenizer and the shipped prompts: everything the trainer tests need, built in a few seconds.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/model/t5_config.h"
#include "core/rqvae/identifiers.h"
#include "core/train/run_setup.h"
#include "core/train/sample_builder.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/ingest_comm.h"

namespace gensar::train::testing {

namespace fs = std::filesystem;

// Directories made by temp_dir, removed when the test binary exits.
struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};

inline std::string temp_dir(const std::string& name) {
  static TempDirs made;
  fs::path dir = fs::path(::testing::TempDir()) / ("gensar-train-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  made.dirs.push_back(dir);
  return dir.string();
}

// An in-memory joint log: 8 items; 6 users with 12 interactions each. Every interaction is a rec
// click; every second one also yields a search click on the same item with the same timestamp and
// position (the Ai et al. join: the same review), so a search example must leave that rec out.
class TinyLogReader : public data::RawReader {
 public:
  void read(data::RawSink& sink) override {
    const char* titles[] = {"red pen", "blue pen", "stapler", "glass beaker", "pipette tips",
                            "safety goggles", "nitrile gloves", "digital caliper"};
    const char* cats[] = {"office, pens", "office, pens", "office, staplers", "lab, glass",
                          "lab, pipettes", "lab, safety", "lab, safety", "tools, measuring"};
    const char* queries[] = {"red ink pen", "blue pen", "stapler", "beaker", "pipette",
                             "goggles", "gloves", "caliper"};
    for (int i = 0; i < 8; ++i) {
      data::RawItem item;
      item.id = "i" + std::to_string(i);
      item.title = titles[i];
      item.description = std::string("a ") + titles[i] + " for work";
      item.categories = cats[i];
      sink.item(std::move(item));
    }
    for (int u = 0; u < 6; ++u) {
      for (int k = 0; k < 12; ++k) {
        const int item = (u * 3 + k * (2 * u + 1)) % 8;
        data::RawEvent rec;
        rec.user = "u" + std::to_string(u);
        rec.item = "i" + std::to_string(item);
        rec.timestamp = 1000 + 10 * k;
        rec.position = k;
        data::RawEvent search = rec;
        sink.event(std::move(rec));
        if (k % 2 == 1) {
          search.kind = data::EventKind::kSearch;
          search.query = queries[item];
          sink.event(std::move(search));
        }
      }
    }
  }
  std::string source() const override { return "tiny-test-log"; }
  bool has_search_events() const override { return true; }
};

inline std::string make_dataset(const std::string& dir, bool candidates = false) {
  data::IngestOptions o;
  o.out = dir + "/dataset";
  o.candidates = candidates;
  o.candidate_negatives = 4;
  TinyLogReader reader;
  auto comm = data::single_ingest_comm();
  data::ingest(reader, o, *comm);
  return o.out;
}

inline rqvae::ItemIdentifiers tiny_identifiers(const data::Dataset& ds) {
  rqvae::ItemIdentifiers ids;
  ids.sem_levels = {{"s_a", 2, true}, {"s_b", 4, true}, {"sem_a", 4, false}};
  ids.col_levels = {{"s_a", 2, true}, {"s_b", 4, true}, {"col_a", 4, false}};
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    std::string key(ds.item_key(i));
    const int n = std::stoi(key.substr(1));
    ids.item_keys.push_back(key);
    ids.sem_ids.insert(ids.sem_ids.end(), {n / 4, n % 4, (n * 3) % 4});
    ids.col_ids.insert(ids.col_ids.end(), {n / 4, n % 4, (n + 1) % 4});
  }
  ids.config_hash = "test";
  ids.validate();
  return ids;
}

struct TinyRun {
  std::string dir;
  std::string dataset_dir;
  std::string identifiers_path;
  RunPieces pieces;
};

// One short template per task: fast to train, what the overfitting test needs.
inline const char* kShortPrompts =
    "[rec]\nnext {history}\n[search]\nfind {history} ; {query}\n[next_query]\nquery {history}\n"
    "[query_item]\nitem {query}\n[text_to_id]\nid {text}\n[id_to_text]\ntext {id}\n"
    "[neutral]\n{history} {query} {text} {id}\n";

inline TinyRun make_tiny_run(const std::string& name, SampleBuilderOptions samples = {},
                             bool candidates = false, bool short_prompts = false) {
  TinyRun run;
  run.dir = temp_dir(name);
  run.dataset_dir = make_dataset(run.dir, candidates);
  data::Dataset ds(run.dataset_dir);
  run.identifiers_path = run.dir + "/identifiers.h5";
  rqvae::save_identifiers(run.identifiers_path, tiny_identifiers(ds));
  RunInputs in;
  in.dataset_dir = run.dataset_dir;
  in.identifiers_path = run.identifiers_path;
  in.prompts_path = default_prompts_path();
  if (short_prompts) {
    in.prompts_path = run.dir + "/prompts.txt";
    std::ofstream(in.prompts_path) << kShortPrompts;
  }
  in.tokenizer.vocab_size = 60;
  in.samples = samples;
  run.pieces = assemble_run(in);
  return run;
}

inline model::T5Config tiny_model_config(const Tokenizer& tok, double dropout = 0.0) {
  model::T5Config c;
  c.vocab_size = model::pad_vocab_size(tok.vocab_size(), 8);
  c.d_model = 64;
  c.d_kv = 16;
  c.num_heads = 4;
  c.d_ff = 128;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.dropout_rate = dropout;
  c.pad_token_id = tok.pad_id();
  c.eos_token_id = tok.eos_id();
  c.decoder_start_token_id = tok.pad_id();
  return c;
}

}  // namespace gensar::train::testing
