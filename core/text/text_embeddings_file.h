// <dataset>/text_embeddings.h5, the output of `gensar embed-text` and the input of `index`:
//   /embeddings          float32 [items, dim], row i = dense item i of the dataset, L2-normalised
//   /item_keys           variable-length UTF-8 strings [items]: the dataset's item ids, row order
//                        (the layout rqvae::read_embedding_table and h5py read)
//   attributes on "/":   encoder ("use-lite" | "tfidf-svd" | "file"), config_hash ("xxh64:..."),
//                        dim (decimal text), schema ("gensar-text-embeddings/1")
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gensar::text {

struct TextEmbeddings {
  std::vector<std::string> item_keys;
  torch::Tensor matrix;  // float32 [items, dim]
  std::string encoder;
  std::string config_hash;
};

// Writes to "<path>.tmp" then renames, so a crash never leaves a half-written file behind.
void write_text_embeddings(const std::string& path, const TextEmbeddings& embeddings);
// InputError naming the file on a missing dataset or a key/row count mismatch.
TextEmbeddings read_text_embeddings(const std::string& path);
// Only the config hash (for staleness checks), "" if the file is absent or has none.
std::string read_text_embeddings_hash(const std::string& path);

// Rows scaled to unit L2 norm; all-zero rows stay zero.
torch::Tensor l2_normalize_rows(const torch::Tensor& matrix);

}  // namespace gensar::text
