#include "launch/embed_text_stage.h"

#include <torch/torch.h>

#include <chrono>
#include <exception>
#include <filesystem>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/text/file_encoder.h"
#include "core/text/item_text.h"
#include "core/text/text_embeddings_file.h"
#include "core/text/tfidf_svd_encoder.h"
#include "core/text/use_lite_encoder.h"
#include "data_pipeline/checksum.h"
#include "data_pipeline/dataset.h"

namespace gensar::launch {
using namespace gensar::text;

namespace {

void hash_field(data::Xxh64& h, std::string_view s) {
  const uint64_t n = s.size();
  h.update(&n, sizeof n);  // length-prefixed: field boundaries cannot shift
  h.update(s.data(), s.size());
}

}  // namespace

EmbedTextResult run_embed_text(const EmbedTextOptions& options, bool force, dist::Communicator* comm) {
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  GENSAR_INPUT_CHECK(options.encoder == "use-lite" || options.encoder == "tfidf-svd" || options.encoder == "file",
                     "--encoder {}: expected use-lite, tfidf-svd or file", options.encoder);
  GENSAR_INPUT_CHECK(options.encoder != "file" || !options.input.empty(),
                     "--encoder file needs --input (an .h5 or .npy of precomputed item embeddings)");
  GENSAR_INPUT_CHECK(options.dim >= 0, "--dim {} must be >= 0", options.dim);
  GENSAR_INPUT_CHECK(options.encoder != "use-lite" || options.dim == 0 || options.dim == 512,
                     "--dim {}: use-lite always gives 512-d vectors (use tfidf-svd for another width)", options.dim);
  GENSAR_INPUT_CHECK(options.batch_size >= 1, "--batch-size {} must be >= 1", options.batch_size);
  data::Dataset dataset(options.dataset);
  EmbedTextResult result;
  result.out = options.out.empty() ? options.dataset + "/text_embeddings.h5" : options.out;
  const auto keys = dataset_item_keys(dataset);
  const bool by_key = options.encoder == "file";
  const auto inputs = by_key ? keys : dataset_item_texts(dataset);
  GENSAR_INPUT_CHECK(!keys.empty(), "{}: the dataset has no items", options.dataset);

  // The hash covers everything that changes the output (not --batch-size or --out).
  const std::string use_lite_dir = options.use_lite_dir.empty() ? default_use_lite_dir() : options.use_lite_dir;
  const int64_t tfidf_dim = options.dim > 0 ? options.dim : 256;
  data::Xxh64 h;
  hash_field(h, "embed-text/1");
  hash_field(h, options.encoder);
  if (options.encoder == "use-lite") {
    hash_field(h, data::file_checksum(use_lite_dir + "/model.json"));
    hash_field(h, data::file_checksum(use_lite_dir + "/vocab.json"));
  } else if (options.encoder == "tfidf-svd") {
    hash_field(h, std::to_string(tfidf_dim) + "/" + std::to_string(options.seed));
  } else {
    hash_field(h, data::file_checksum(options.input));
    if (!options.input_keys.empty()) hash_field(h, data::file_checksum(options.input_keys));
    hash_field(h, std::to_string(options.dim));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    hash_field(h, keys[i]);
    if (!by_key) hash_field(h, inputs[i]);
  }
  result.config_hash = data::xxh64_hex(h.digest());
  result.items = static_cast<int64_t>(keys.size());
  if (!force && read_text_embeddings_hash(result.out) == result.config_hash) {
    GENSAR_INFO("text", "{} is up to date ({}), skipping", result.out, result.config_hash);
    result.skipped = true;
    return result;
  }

  std::unique_ptr<TextEncoder> encoder;
  if (options.encoder == "use-lite") {
    encoder = make_use_lite_encoder({use_lite_dir, options.batch_size, rank, ranks});
  } else if (options.encoder == "tfidf-svd") {
    TfidfSvdOptions o;
    o.dim = tfidf_dim;
    o.seed = options.seed;
    encoder = std::make_unique<TfidfSvdEncoder>(o);
  } else {
    encoder = std::make_unique<FileEncoder>(FileEncoderOptions{options.input, options.input_keys, options.dim});
  }
  GENSAR_INFO("text", "embedding {} items with {} (dim {})", keys.size(), encoder->name(), encoder->dim());
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor matrix;
  std::exception_ptr failure;
  try {
    matrix = encoder->encode(inputs);
  } catch (...) {
    failure = std::current_exception();
  }
  torch::Tensor failed = torch::full({1}, failure ? 1 : 0, torch::kInt32);
  if (ranks > 1) comm->all_reduce(failed, dist::ReduceOp::kMax);
  if (failure) std::rethrow_exception(failure);
  GENSAR_CHECK(failed.item<int>() == 0, "embed-text: the encoder failed on another rank (its log says why)");
  if (ranks > 1 && options.encoder == "use-lite") comm->all_reduce(matrix);  // shards: zero outside own batches
  result.encode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  GENSAR_CHECK(matrix.size(0) == result.items && matrix.size(1) == encoder->dim(),
               "encoder {} returned {}x{}, expected {}x{}", encoder->name(), matrix.size(0), matrix.size(1),
               result.items, encoder->dim());
  result.dim = matrix.size(1);
  if (rank != 0) return result;
  const int64_t zero_rows = (matrix.abs().sum(1) == 0).sum().item<int64_t>();
  if (zero_rows > 0)
    GENSAR_WARN("text", "{} of {} items got an all-zero vector (no usable text)", zero_rows, result.items);
  write_text_embeddings(result.out, {keys, l2_normalize_rows(matrix), encoder->name(), result.config_hash});
  GENSAR_INFO("text", "wrote {} ({} x {}, {}) in {:.1f} s: {:.0f} items/s", result.out, result.items, result.dim,
              encoder->name(), result.encode_seconds, result.items / std::max(result.encode_seconds, 1e-9));
  return result;
}

}  // namespace gensar::launch
