// BM25 over item documents (title + description + brand + categories), an inverted index.
// Used for the fixed search candidates (candidates.h) and as the lexical search baseline.
// Score(q, d) = sum over query tokens t (repeats count) of
//   idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl)),
//   idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))   (Lucene's form: never negative).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gensar::data {

// Lower-cased runs of ASCII letters/digits; bytes >= 0x80 (UTF-8) count as word characters, so
// non-English words stay whole. Everything else separates words.
std::vector<std::string> bm25_tokenize(std::string_view text);

// Which item fields BM25 indexes. The paper's reference indexes title + description; adding brand
// and categories makes BM25 an exact category filter on Ai et al. queries (which are category
// words), and makes the search negatives items the query cannot separate (docs/candidates.md).
enum class Bm25Fields { kTitleDescription, kAllFields };
Bm25Fields parse_bm25_fields(const std::string& name);  // title-description | all; InputError else
const char* bm25_fields_name(Bm25Fields fields);

// The text BM25 indexes for an item: the chosen fields joined by spaces (all: title, description,
// brand, categories).
std::string bm25_item_document(std::string_view title, std::string_view description, std::string_view brand,
                               std::string_view categories, Bm25Fields fields = Bm25Fields::kAllFields);

struct Bm25Params {
  double k1 = 1.2;
  double b = 0.75;
};

struct Bm25Hit {
  uint32_t doc;
  double score;
};

class Bm25Index {
 public:
  explicit Bm25Index(Bm25Params params = {});

  // Documents get ids 0, 1, 2, ... in the order they are added (the dataset's item index).
  uint32_t add(std::string_view text);
  size_t size() const { return doc_length_.size(); }
  const Bm25Params& params() const { return params_; }

  double score(std::string_view query, uint32_t doc) const;
  // The k best documents with a positive score (i.e. sharing a token with the query), best first,
  // ties broken by smaller id; `exclude` (any order) never appears. Thread-safe.
  std::vector<Bm25Hit> top_k(std::string_view query, size_t k, const std::vector<uint32_t>& exclude = {}) const;

  double idf(const std::string& token) const;
  uint32_t document_frequency(const std::string& token) const;
  double average_length() const;

 private:
  struct Posting {
    uint32_t doc;
    uint32_t tf;
  };
  Bm25Params params_;
  std::unordered_map<std::string, std::vector<Posting>> postings_;  // docs ascending per token
  std::vector<uint32_t> doc_length_;
  uint64_t total_length_ = 0;
};

}  // namespace gensar::data
