// The SentencePiece-unigram tokenizer of USE-lite, reimplemented to give exactly the ids the
// reference (TF.js universal-sentence-encoder tokenizer) gives: NFKC, "▁" word boundaries, Viterbi
// over piece scores (its tie-breaking kept), unknown characters as id 0 with runs of unknowns merged.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gensar::text {

class UnigramTokenizer {
 public:
  // vocab.json: [[piece, score], ...]; the first `reserved` entries (<unk>, <s>, ...) never match.
  static UnigramTokenizer from_vocab_json(const std::string& path, int reserved = 6);

  std::vector<int32_t> encode(const std::string& utf8_text) const;
  size_t vocab_size() const { return pieces_.size(); }

 private:
  struct Piece {
    double score = 0;  // JS numbers: sums in double decide ties
    int32_t id = 0;
    int length_utf16 = 1;  // the reference steps back by the piece's JS string length
  };
  int child(int node, char32_t c) const;

  std::vector<Piece> pieces_;               // by id
  std::vector<int32_t> terminal_;           // trie node -> piece id ending there, or -1
  std::unordered_map<uint64_t, int> edges_;  // (node << 21 | code point) -> child node
};

// NFKC normalisation of UTF-8 text (ICU).
std::string nfkc(const std::string& utf8_text);

}  // namespace gensar::text
