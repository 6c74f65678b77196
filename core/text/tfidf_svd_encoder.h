// TF-IDF + randomized truncated SVD (Halko, Martinsson & Tropp 2011): a weight-free semantic
// encoder. fit() learns the vocabulary, IDF and the top `dim` right singular vectors V_k of the
// corpus' TF-IDF matrix A; encode() projects TF-IDF rows onto V_k (for the corpus itself A V_k =
// U_k S_k, the usual LSA item vectors). Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/text/text_encoder.h"

namespace gensar::text {

struct TfidfSvdOptions {
  int64_t dim = 256;
  uint64_t seed = 42;
  int power_iterations = 4;  // subspace iterations: sharpen the spectrum of A before the QR
  int oversampling = 10;     // extra random directions beyond dim
  int min_df = 2;            // terms in fewer documents are dropped (unless that leaves none)
  int64_t max_terms = 1 << 18;
};

// Lower-cased word tokens: runs of letters/digits (bytes >= 0x80 count as letters so UTF-8 words
// stay whole), at least two bytes long.
std::vector<std::string> tfidf_tokens(const std::string& text);

class TfidfSvdEncoder : public TextEncoder {
 public:
  explicit TfidfSvdEncoder(TfidfSvdOptions options) : options_(options) {}
  void fit(const std::vector<std::string>& corpus);
  bool fitted() const { return components_.defined(); }
  int64_t dim() const override { return options_.dim; }
  std::string name() const override { return "tfidf-svd"; }
  // Fits on `texts` first if fit() was not called (the item catalogue is the corpus).
  torch::Tensor encode(const std::vector<std::string>& texts) override;
  // Singular values of the fitted components, descending.
  const torch::Tensor& singular_values() const { return singular_values_; }

 private:
  // Sparse TF-IDF rows (sublinear tf, smooth idf, L2-normalised) as a COO tensor [texts, terms].
  torch::Tensor tfidf(const std::vector<std::string>& texts) const;

  TfidfSvdOptions options_;
  std::unordered_map<std::string, int64_t> term_index_;
  std::vector<float> idf_;
  torch::Tensor components_;       // V_k: [terms, dim]
  torch::Tensor singular_values_;  // [dim]
};

}  // namespace gensar::text
