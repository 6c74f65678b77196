// TextEncoder: turns item texts into one fixed-size vector each (the "semantic" input of the
// RQ-VAE). Three implementations: the pretrained USE-lite port, TF-IDF + randomized SVD, and
// precomputed vectors imported from a file (see docs/embed-text.md).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gensar::text {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  // Width of the vectors encode() returns.
  virtual int64_t dim() const = 0;
  // One float32 row per text, [texts.size(), dim()], in input order.
  virtual torch::Tensor encode(const std::vector<std::string>& texts) = 0;
  // Short name recorded in outputs ("use-lite", "tfidf-svd", "file").
  virtual std::string name() const = 0;
};

}  // namespace gensar::text
