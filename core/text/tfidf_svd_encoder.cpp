#include "core/text/tfidf_svd_encoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/common/check.h"
#include "core/common/log.h"

namespace gensar::text {

namespace {

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// splitmix64 + Box-Muller: the same Gaussian test matrix on every platform and torch version.
torch::Tensor gaussian_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  torch::Tensor out = torch::empty({rows, cols}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  uint64_t state = seed ^ 0x9E3779B97F4A7C15ULL;
  auto next = [&]() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  auto uniform = [&]() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double theta = 2.0 * M_PI * uniform();
    p[i] = static_cast<float>(r * std::cos(theta));
    if (i + 1 < n) p[i + 1] = static_cast<float>(r * std::sin(theta));
  }
  return out;
}

torch::Tensor orthonormal_basis(const torch::Tensor& m) {
  return std::get<0>(torch::linalg_qr(m, "reduced"));
}

}  // namespace

std::vector<std::string> tfidf_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string current;
  for (unsigned char c : text) {
    if (is_word_byte(c)) {
      current += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
    } else {
      if (current.size() >= 2) tokens.push_back(current);
      current.clear();
    }
  }
  if (current.size() >= 2) tokens.push_back(current);
  return tokens;
}

void TfidfSvdEncoder::fit(const std::vector<std::string>& corpus) {
  GENSAR_INPUT_CHECK(!corpus.empty(), "tfidf-svd: no texts to fit");
  const int64_t n = static_cast<int64_t>(corpus.size());
  std::map<std::string, int64_t> df;  // ordered: term ids do not depend on hash order
  for (const auto& text : corpus) {
    auto tokens = tfidf_tokens(text);
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    for (auto& t : tokens) ++df[t];
  }
  std::vector<std::pair<std::string, int64_t>> terms;
  for (auto& [term, count] : df)
    if (count >= options_.min_df) terms.emplace_back(term, count);
  if (terms.empty()) terms.assign(df.begin(), df.end());
  GENSAR_INPUT_CHECK(!terms.empty(), "tfidf-svd: the {} texts contain no words", n);
  if (static_cast<int64_t>(terms.size()) > options_.max_terms) {
    std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    terms.resize(options_.max_terms);
    std::sort(terms.begin(), terms.end());
  }
  term_index_.clear();
  idf_.clear();
  for (const auto& [term, count] : terms) {
    term_index_.emplace(term, static_cast<int64_t>(idf_.size()));
    idf_.push_back(static_cast<float>(std::log((1.0 + n) / (1.0 + count)) + 1.0));
  }
  const int64_t v = static_cast<int64_t>(idf_.size());
  const int64_t k = options_.dim;
  GENSAR_INPUT_CHECK(k >= 1 && k <= std::min(n, v),
                     "tfidf-svd: --dim {} must be between 1 and min(texts {}, vocabulary terms {})", k, n, v);

  torch::NoGradGuard no_grad;
  const torch::Tensor a = tfidf(corpus);  // [n, v] sparse
  const torch::Tensor at = a.t().coalesce();
  const int64_t l = std::min<int64_t>(k + options_.oversampling, std::min(n, v));
  // Range finder with subspace iteration, re-orthonormalising after every product for stability.
  torch::Tensor q = orthonormal_basis(torch::mm(a, gaussian_matrix(v, l, options_.seed)));
  for (int it = 0; it < options_.power_iterations; ++it) {
    torch::Tensor z = orthonormal_basis(torch::mm(at, q));
    q = orthonormal_basis(torch::mm(a, z));
  }
  torch::Tensor b = torch::mm(at, q).t();  // Q^T A: [l, v]
  auto [ub, s, vt] = torch::linalg_svd(b, false);
  torch::Tensor components = vt.slice(0, 0, k).t().contiguous();  // [v, k]
  // Sign convention (as sklearn's svd_flip): each component's largest-magnitude term is positive.
  torch::Tensor peak = components.abs().argmax(0);
  torch::Tensor signs = components.gather(0, peak.unsqueeze(0)).sign().squeeze(0);
  signs.masked_fill_(signs == 0, 1);
  components_ = components * signs.unsqueeze(0);
  singular_values_ = s.slice(0, 0, k).clone();
  GENSAR_INFO("text", "tfidf-svd: {} texts, {} terms, dim {}, top singular value {:.4f}", n, v, k,
              singular_values_[0].item<float>());
}

torch::Tensor TfidfSvdEncoder::tfidf(const std::vector<std::string>& texts) const {
  std::vector<int64_t> rows, cols;
  std::vector<float> values;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::map<int64_t, int> counts;
    for (const auto& t : tfidf_tokens(texts[i])) {
      auto it = term_index_.find(t);
      if (it != term_index_.end()) ++counts[it->second];
    }
    double norm = 0;
    const size_t first = values.size();
    for (auto [term, count] : counts) {
      const float w = static_cast<float>((1.0 + std::log(static_cast<double>(count))) * idf_[term]);
      rows.push_back(static_cast<int64_t>(i));
      cols.push_back(term);
      values.push_back(w);
      norm += static_cast<double>(w) * w;
    }
    const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (size_t j = first; j < values.size(); ++j) values[j] *= inv;
  }
  const int64_t nnz = static_cast<int64_t>(values.size());
  torch::Tensor indices = torch::empty({2, nnz}, torch::kLong);
  if (nnz > 0) {
    indices[0] = torch::tensor(rows);
    indices[1] = torch::tensor(cols);
  }
  torch::Tensor vals = nnz > 0 ? torch::tensor(values) : torch::empty({0}, torch::kFloat32);
  return torch::sparse_coo_tensor(indices, vals, {static_cast<int64_t>(texts.size()),
                                                  static_cast<int64_t>(idf_.size())})
      .coalesce();
}

torch::Tensor TfidfSvdEncoder::encode(const std::vector<std::string>& texts) {
  if (!fitted()) fit(texts);
  torch::NoGradGuard no_grad;
  if (texts.empty()) return torch::empty({0, dim()}, torch::kFloat32);
  return torch::mm(tfidf(texts), components_);
}

}  // namespace gensar::text
