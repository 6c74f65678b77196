#include "core/text/text_embeddings_file.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/common/check.h"
#include "core/text/h5_extras.h"
#include "data_pipeline/h5.h"

namespace gensar::text {

namespace {
const char* const kSchema = "gensar-text-embeddings/1";
}

torch::Tensor l2_normalize_rows(const torch::Tensor& matrix) {
  torch::Tensor norms = matrix.norm(2, 1, true);
  return matrix / norms.clamp_min(1e-12);
}

void write_text_embeddings(const std::string& path, const TextEmbeddings& e) {
  GENSAR_CHECK(e.matrix.dim() == 2 && static_cast<size_t>(e.matrix.size(0)) == e.item_keys.size(),
               "{} item keys but a {}-row matrix", e.item_keys.size(), e.matrix.size(0));
  const std::string tmp = path + ".tmp";
  {
    auto file = data::h5::File::create(tmp);
    h5x::write_matrix(file, "embeddings", e.matrix.to(torch::kFloat32));
    h5x::write_string_dataset(file, "item_keys", e.item_keys);
    h5x::write_attribute(file, "schema", kSchema);
    h5x::write_attribute(file, "encoder", e.encoder);
    h5x::write_attribute(file, "config_hash", e.config_hash);
    h5x::write_attribute(file, "dim", std::to_string(e.matrix.size(1)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  GENSAR_INPUT_CHECK(!ec, "cannot rename {} to {}: {}", tmp, path, ec.message());
}

TextEmbeddings read_text_embeddings(const std::string& path) {
  auto file = data::h5::File::open(path);
  GENSAR_INPUT_CHECK(h5x::read_attribute(file, "schema") == kSchema, "{}: not a gensar text-embeddings file (schema "
                     "attribute '{}')", path, h5x::read_attribute(file, "schema"));
  TextEmbeddings e;
  e.matrix = h5x::read_matrix(file, "embeddings");
  e.item_keys = h5x::read_keys(file, "item_keys");
  e.encoder = h5x::read_attribute(file, "encoder");
  e.config_hash = h5x::read_attribute(file, "config_hash");
  GENSAR_INPUT_CHECK(static_cast<int64_t>(e.item_keys.size()) == e.matrix.size(0),
                     "{}: {} item keys but {} embedding rows", path, e.item_keys.size(), e.matrix.size(0));
  return e;
}

std::string read_text_embeddings_hash(const std::string& path) {
  if (!std::filesystem::exists(path)) return "";
  auto file = data::h5::File::open(path);
  return h5x::read_attribute(file, "config_hash");
}

}  // namespace gensar::text
