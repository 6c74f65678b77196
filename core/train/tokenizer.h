// The model's vocabulary: SentencePiece pieces for text, then special tokens appended (task markers
// and every identifier code token). Text and special tokens never mix inside SentencePiece: prompts
// are assembled as id sequences, so a code token can never be split or produced from plain text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace gensar::train {

class SentencePieceModel;

struct TokenizerTrainOptions {
  int vocab_size = 8000;
  std::string model_type = "unigram";   // unigram | bpe
  double character_coverage = 0.9995;
  int64_t max_sentences = 2000000;      // SentencePiece's input_sentence_size
};

class Tokenizer {
 public:
  // Trains a SentencePiece model on `corpus` (item text and queries). pad=0, eos=1, unk=2 as in T5;
  // single-threaded and unshuffled so the same corpus gives the same model.
  static Tokenizer train(const std::vector<std::string>& corpus, const TokenizerTrainOptions& opts);
  // Loads an existing SentencePiece model (e.g. T5's spiece.model) from a file or serialized bytes.
  static Tokenizer load_file(const std::string& path);
  static Tokenizer from_serialized(const std::string& model_bytes);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Appends special tokens (idempotent per token); returns their ids in order.
  std::vector<int64_t> add_special_tokens(const std::vector<std::string>& tokens);

  std::vector<int64_t> encode(const std::string& text) const;
  // Special tokens render as their strings; pad and eos are dropped.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t special_id(const std::string& token) const;  // throws if unknown
  bool has_special(const std::string& token) const;
  const std::vector<std::string>& special_tokens() const { return specials_; }
  int64_t piece_count() const;                          // SentencePiece vocabulary size
  int64_t vocab_size() const { return piece_count() + static_cast<int64_t>(specials_.size()); }
  int64_t pad_id() const { return pad_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const { return unk_id_; }
  // SentencePiece model bytes: stored in checkpoints so a run is self-contained.
  const std::string& serialized_model() const { return model_bytes_; }

 private:
  Tokenizer();
  void init_from_bytes(const std::string& bytes);

  std::unique_ptr<SentencePieceModel> sp_;
  std::string model_bytes_;
  std::vector<std::string> specials_;
  std::unordered_map<std::string, int64_t> special_index_;
  int64_t pad_id_ = 0, eos_id_ = 1, unk_id_ = 2;
};

}  // namespace gensar::train
