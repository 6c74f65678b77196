#include "data_pipeline/bm25.h"

#include <algorithm>
#include <cmath>

#include "core/common/check.h"

namespace gensar::data {

std::vector<std::string> bm25_tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
      current.push_back(ch);
    } else if (c >= 'A' && c <= 'Z') {
      current.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

Bm25Fields parse_bm25_fields(const std::string& name) {
  if (name == "title-description") return Bm25Fields::kTitleDescription;
  if (name == "all") return Bm25Fields::kAllFields;
  GENSAR_INPUT_CHECK(false, "--bm25-fields: expected title-description or all, got '{}'", name);
  return Bm25Fields::kAllFields;
}

const char* bm25_fields_name(Bm25Fields fields) {
  return fields == Bm25Fields::kTitleDescription ? "title-description" : "all";
}

std::string bm25_item_document(std::string_view title, std::string_view description, std::string_view brand,
                               std::string_view categories, Bm25Fields fields) {
  if (fields == Bm25Fields::kTitleDescription) brand = categories = {};
  std::string doc;
  doc.reserve(title.size() + description.size() + brand.size() + categories.size() + 3);
  for (std::string_view part : {title, description, brand, categories}) {
    if (part.empty()) continue;
    if (!doc.empty()) doc.push_back(' ');
    doc.append(part);
  }
  return doc;
}

Bm25Index::Bm25Index(Bm25Params params) : params_(params) {
  GENSAR_INPUT_CHECK(params.k1 >= 0, "bm25: k1 must be >= 0, got {}", params.k1);
  GENSAR_INPUT_CHECK(params.b >= 0 && params.b <= 1, "bm25: b must be in [0, 1], got {}", params.b);
}

uint32_t Bm25Index::add(std::string_view text) {
  const uint32_t doc = static_cast<uint32_t>(doc_length_.size());
  std::vector<std::string> tokens = bm25_tokenize(text);
  std::sort(tokens.begin(), tokens.end());
  for (size_t i = 0; i < tokens.size();) {
    size_t j = i;
    while (j < tokens.size() && tokens[j] == tokens[i]) ++j;
    postings_[tokens[i]].push_back({doc, static_cast<uint32_t>(j - i)});
    i = j;
  }
  doc_length_.push_back(static_cast<uint32_t>(tokens.size()));
  total_length_ += tokens.size();
  return doc;
}

double Bm25Index::average_length() const {
  return doc_length_.empty() ? 0.0 : static_cast<double>(total_length_) / doc_length_.size();
}

uint32_t Bm25Index::document_frequency(const std::string& token) const {
  auto it = postings_.find(token);
  return it == postings_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

double Bm25Index::idf(const std::string& token) const {
  const double n = static_cast<double>(doc_length_.size());
  const double df = document_frequency(token);
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

double Bm25Index::score(std::string_view query, uint32_t doc) const {
  GENSAR_CHECK(doc < doc_length_.size(), "bm25: document {} out of range ({} documents)", doc, doc_length_.size());
  const double avgdl = std::max(average_length(), 1e-9);
  const double norm = params_.k1 * (1.0 - params_.b + params_.b * doc_length_[doc] / avgdl);
  double total = 0;
  for (const std::string& token : bm25_tokenize(query)) {
    auto it = postings_.find(token);
    if (it == postings_.end()) continue;
    auto p = std::lower_bound(it->second.begin(), it->second.end(), doc,
                              [](const Posting& a, uint32_t d) { return a.doc < d; });
    if (p == it->second.end() || p->doc != doc) continue;
    total += idf(token) * p->tf * (params_.k1 + 1.0) / (p->tf + norm);
  }
  return total;
}

std::vector<Bm25Hit> Bm25Index::top_k(std::string_view query, size_t k, const std::vector<uint32_t>& exclude) const {
  // Dense accumulator reused per thread: touching only the docs on the query's posting lists.
  thread_local std::vector<double> acc;
  thread_local std::vector<uint32_t> touched;
  if (acc.size() < doc_length_.size()) acc.assign(doc_length_.size(), 0.0);
  touched.clear();
  const double avgdl = std::max(average_length(), 1e-9);
  const double k1 = params_.k1, b = params_.b;
  for (const std::string& token : bm25_tokenize(query)) {
    auto it = postings_.find(token);
    if (it == postings_.end()) continue;
    const double w = idf(token) * (k1 + 1.0);
    for (const Posting& p : it->second) {
      const double norm = k1 * (1.0 - b + b * doc_length_[p.doc] / avgdl);
      if (acc[p.doc] == 0.0) touched.push_back(p.doc);
      acc[p.doc] += w * p.tf / (p.tf + norm);
    }
  }
  std::vector<Bm25Hit> hits;
  hits.reserve(touched.size());
  for (uint32_t d : touched) {
    if (acc[d] > 0.0 && std::find(exclude.begin(), exclude.end(), d) == exclude.end()) hits.push_back({d, acc[d]});
    acc[d] = 0.0;
  }
  auto better = [](const Bm25Hit& a, const Bm25Hit& b) { return a.score > b.score || (a.score == b.score && a.doc < b.doc); };
  if (hits.size() > k) {
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), better);
    hits.resize(k);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

}  // namespace gensar::data
