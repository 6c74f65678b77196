#include "core/text/unigram_tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/common/check.h"

namespace gensar::text {

namespace {

std::u32string decode_utf8(const std::string& s) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  std::u32string out;
  out.reserve(u.length());
  for (int32_t i = 0; i < u.length();) {
    UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

}  // namespace

std::string nfkc(const std::string& utf8_text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFKCInstance(status);
  GENSAR_CHECK(U_SUCCESS(status), "ICU NFKC unavailable: {}", u_errorName(status));
  icu::UnicodeString out = norm->normalize(icu::UnicodeString::fromUTF8(utf8_text), status);
  GENSAR_CHECK(U_SUCCESS(status), "ICU NFKC failed: {}", u_errorName(status));
  std::string result;
  out.toUTF8String(result);
  return result;
}

UnigramTokenizer UnigramTokenizer::from_vocab_json(const std::string& path, int reserved) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot open {} (run scripts/setup-npm.sh)", path);
  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  GENSAR_INPUT_CHECK(vocab.is_array() && vocab.size() > static_cast<size_t>(reserved),
                     "{}: expected an array of [piece, score] pairs", path);
  UnigramTokenizer tok;
  tok.terminal_.push_back(-1);  // root
  for (size_t id = 0; id < vocab.size(); ++id) {
    const auto& entry = vocab[id];
    GENSAR_INPUT_CHECK(entry.is_array() && entry.size() == 2 && entry[0].is_string(),
                       "{}: entry {} is not [piece, score]", path, id);
    const auto text = entry[0].get<std::string>();
    Piece piece;
    // A few pieces (":", "://", ...) have a null score, which the reference's arithmetic reads as 0.
    piece.score = entry[1].is_number() ? entry[1].get<double>() : 0.0;
    piece.id = static_cast<int32_t>(id);
    piece.length_utf16 = icu::UnicodeString::fromUTF8(text).length();
    tok.pieces_.push_back(piece);
    if (static_cast<int>(id) < reserved) continue;
    int node = 0;
    for (char32_t c : decode_utf8(text)) {
      const uint64_t key = (static_cast<uint64_t>(node) << 21) | c;
      auto it = tok.edges_.find(key);
      if (it == tok.edges_.end()) {
        tok.terminal_.push_back(-1);
        it = tok.edges_.emplace(key, static_cast<int>(tok.terminal_.size()) - 1).first;
      }
      node = it->second;
    }
    if (node != 0) tok.terminal_[node] = piece.id;  // a repeated piece: the later entry wins
  }
  return tok;
}

int UnigramTokenizer::child(int node, char32_t c) const {
  auto it = edges_.find((static_cast<uint64_t>(node) << 21) | c);
  return it == edges_.end() ? -1 : it->second;
}

std::vector<int32_t> UnigramTokenizer::encode(const std::string& utf8_text) const {
  std::string normalized = nfkc(utf8_text);
  if (normalized.empty()) return {};
  // "▁" marks word starts: prepended, and replaces every ASCII space.
  std::string marked = "\xE2\x96\x81";
  for (char c : normalized) {
    if (c == ' ') marked += "\xE2\x96\x81";
    else marked += c;
  }
  const std::u32string symbols = decode_utf8(marked);
  const size_t n = symbols.size();

  // Lattice: candidates ending at each position, visited by ascending start (the reference's
  // order), a later candidate winning ties (>=), and a zero best score counting as "unset".
  struct Candidate {
    int start;
    int32_t id;
    double score;
  };
  std::vector<std::vector<Candidate>> ending(n + 1);
  for (size_t i = 0; i < n; ++i) {
    bool matched = false;
    int node = 0;
    for (size_t j = i; j < n; ++j) {
      node = child(node, symbols[j]);
      if (node < 0) break;
      const int32_t id = terminal_[node];
      if (id >= 0) {
        ending[j + 1].push_back({static_cast<int>(i), id, pieces_[id].score});
        matched = true;
      }
    }
    if (!matched) ending[i + 1].push_back({static_cast<int>(i), 0, 0.0});  // unknown character
  }
  std::vector<double> best(n + 1, 0.0);
  std::vector<int32_t> words(n + 1, 0);
  for (size_t end = 0; end <= n; ++end) {
    // Starts ascending: candidates were appended in ascending start order already.
    for (const Candidate& c : ending[end]) {
      const double score = c.score + best[c.start];
      if (best[end] == 0.0 || score >= best[end]) {
        best[end] = score;
        words[end] = c.id;
      }
    }
  }
  std::vector<int32_t> reversed;
  for (long iter = static_cast<long>(n); iter > 0;) {
    const int32_t id = words[iter];
    reversed.push_back(id);
    iter -= pieces_[id].length_utf16;
  }
  std::vector<int32_t> ids;
  bool previous_unknown = false;
  for (int32_t id : reversed) {
    if (!(previous_unknown && id == 0)) ids.push_back(id);
    previous_unknown = id == 0;
  }
  return std::vector<int32_t>(ids.rbegin(), ids.rend());
}

}  // namespace gensar::text
