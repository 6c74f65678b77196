// The embed-collab stage: collaborative item embeddings for a dataset, either trained (SASRec on the
// training part of the recommendation sequences) or imported from a file. See docs/sasrec.md.
#pragma once

#include <cstdint>
#include <string>

#include "core/seqrec/sasrec.h"
#include "core/seqrec/sasrec_trainer.h"

namespace gensar::launch {

struct EmbedCollabOptions {
  std::string dataset;
  std::string out;        // default <dataset>/collab_embeddings.h5
  std::string model_out;  // default sasrec_model.pt beside `out`
  std::string mode = "sasrec";  // "sasrec" | "file"
  std::string input;      // file mode: .h5/.hdf5 or .npy
  std::string input_keys; // file mode: keys of a .npy, one per line
  seqrec::SasRecConfig model;     // num_items is filled from the dataset
  seqrec::SasRecTrainOptions train;
  int64_t eval_examples = 1000;  // validation examples scored after training (0 = none, -1 = all)
  bool force = false;
};

struct EmbedCollabResult {
  std::string out, model_out, config_hash;
  bool skipped = false;   // the output's config hash already matched
  int64_t items = 0, dim = 0;
  double train_seconds = 0;
  int64_t steps = 0;
  double final_loss = 0;
  int64_t eval_count = 0;
  double valid_hr10 = 0, valid_ndcg10 = 0;
};

// Runs on every rank of the data-parallel world (rank 0 writes the files; the others train).
EmbedCollabResult run_embed_collab(EmbedCollabOptions options);

}  // namespace gensar::launch
