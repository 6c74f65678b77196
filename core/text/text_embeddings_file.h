// <dataset>/text_embeddings.h5, the output of `gensar embed-text` and the input of `index`: the one
// embeddings format (core/common/embeddings_file.h), row i = dense item i of the dataset,
// L2-normalised, with root attributes encoder ("use-lite" | "tfidf-svd" | "file"), config_hash
// ("xxh64:..."), dim (decimal text) and schema ("gensar-text-embeddings/1").
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gensar {
struct EmbeddingsFile;
}

namespace gensar::text {

struct TextEmbeddings {
  std::vector<std::string> item_keys;
  torch::Tensor matrix;  // float32 [items, dim]
  std::string encoder;
  std::string config_hash;
};

// Atomic (replace_file_atomically): a crash or a full disk never leaves a half-written file behind.
void write_text_embeddings(const std::string& path, const TextEmbeddings& embeddings);
// InputError naming the file on a missing dataset or a key/row count mismatch.
TextEmbeddings read_text_embeddings(const std::string& path);
// Only the config hash (for staleness checks), "" if the file is absent or has none.
std::string read_text_embeddings_hash(const std::string& path);

// The values of an embeddings file as a float32 [rows, dim] tensor.
torch::Tensor to_matrix(const EmbeddingsFile& file);

// Rows scaled to unit L2 norm; all-zero rows stay zero.
torch::Tensor l2_normalize_rows(const torch::Tensor& matrix);

}  // namespace gensar::text
