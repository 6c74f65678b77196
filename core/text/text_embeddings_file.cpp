#include "core/text/text_embeddings_file.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/common/check.h"
#include "core/common/embeddings_file.h"
#include "core/common/h5.h"

namespace gensar::text {

namespace {
const char* const kSchema = "gensar-text-embeddings/1";
}

torch::Tensor to_matrix(const EmbeddingsFile& file) {
  GENSAR_CHECK(file.values.size() == static_cast<size_t>(file.rows() * file.dim),
               "{} values for {} keys x {} columns", file.values.size(), file.rows(), file.dim);
  torch::Tensor out = torch::empty({file.rows(), file.dim}, torch::kFloat32);
  std::copy(file.values.begin(), file.values.end(), out.data_ptr<float>());
  return out;
}

torch::Tensor l2_normalize_rows(const torch::Tensor& matrix) {
  torch::Tensor norms = matrix.norm(2, 1, true);
  return matrix / norms.clamp_min(1e-12);
}

void write_text_embeddings(const std::string& path, const TextEmbeddings& e) {
  GENSAR_CHECK(e.matrix.dim() == 2 && static_cast<size_t>(e.matrix.size(0)) == e.item_keys.size(),
               "{} item keys but a {}-row matrix", e.item_keys.size(), e.matrix.size(0));
  const torch::Tensor m = e.matrix.to(torch::kFloat32).contiguous();
  EmbeddingsFile file;
  file.keys = e.item_keys;
  file.dim = m.size(1);
  file.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
  file.attributes = {{"schema", kSchema},
                     {"encoder", e.encoder},
                     {"config_hash", e.config_hash},
                     {"dim", std::to_string(file.dim)}};
  write_embeddings_file(path, file);
}

TextEmbeddings read_text_embeddings(const std::string& path) {
  EmbeddingsFile file = read_embeddings_file(path);
  GENSAR_INPUT_CHECK(file.attribute("schema") == kSchema,
                     "{}: not a gensar text-embeddings file (schema attribute '{}')", path, file.attribute("schema"));
  TextEmbeddings e;
  e.matrix = to_matrix(file);  // before the keys move out: rows() counts them
  e.item_keys = std::move(file.keys);
  e.encoder = file.attribute("encoder");
  e.config_hash = file.attribute("config_hash");
  return e;
}

std::string read_text_embeddings_hash(const std::string& path) {
  if (!std::filesystem::exists(path)) return "";
  return h5::File::open(path).read_attr_or("config_hash", "");
}

}  // namespace gensar::text
