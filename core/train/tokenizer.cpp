#include "core/train/tokenizer.h"

#include <fstream>
#include <sstream>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/train/sentencepiece_library.h"

namespace gensar::train {

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::train(const std::vector<std::string>& corpus, const TokenizerTrainOptions& o) {
  GENSAR_INPUT_CHECK(!corpus.empty(), "tokenizer: empty training corpus");
  std::ostringstream args;
  args << "--vocab_size=" << o.vocab_size << " --model_type=" << o.model_type
       << " --character_coverage=" << o.character_coverage
       << " --input_sentence_size=" << o.max_sentences
       << " --shuffle_input_sentence=false --num_threads=1"
       << " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"
       << " --hard_vocab_limit=false --minloglevel=2";
  std::string model_bytes = SentencePieceModel::train(args.str(), corpus);
  Tokenizer t;
  t.init_from_bytes(model_bytes);
  GENSAR_INFO("tokenizer", "trained {} pieces ({}) on {} texts", t.piece_count(), o.model_type,
              corpus.size());
  return t;
}

Tokenizer Tokenizer::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "tokenizer: cannot open SentencePiece model '{}'", path);
  std::stringstream buf;
  buf << in.rdbuf();
  Tokenizer t;
  try {
    t.init_from_bytes(buf.str());
  } catch (const Error& e) {
    throw InputError(fmt::format("tokenizer: '{}' is not a SentencePiece model: {}", path, e.what()));
  }
  return t;
}

Tokenizer Tokenizer::from_serialized(const std::string& bytes) {
  Tokenizer t;
  t.init_from_bytes(bytes);
  return t;
}

void Tokenizer::init_from_bytes(const std::string& bytes) {
  sp_ = std::make_unique<SentencePieceModel>(bytes);
  model_bytes_ = bytes;
  unk_id_ = sp_->unk_id();
  eos_id_ = sp_->eos_id();
  pad_id_ = sp_->pad_id();
  // Models without pad/eos (some BPE models) get them as special tokens.
  if (pad_id_ < 0) pad_id_ = add_special_tokens({"<pad>"})[0];
  if (eos_id_ < 0) eos_id_ = add_special_tokens({"</s>"})[0];
}

int64_t Tokenizer::piece_count() const { return sp_->piece_size(); }

std::vector<int64_t> Tokenizer::add_special_tokens(const std::vector<std::string>& tokens) {
  std::vector<int64_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& tok : tokens) {
    auto it = special_index_.find(tok);
    if (it == special_index_.end()) {
      int64_t id = piece_count() + static_cast<int64_t>(specials_.size());
      specials_.push_back(tok);
      it = special_index_.emplace(tok, id).first;
    }
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids = sp_->encode(text);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    out += sp_->decode(run);
    run.clear();
  };
  const int64_t pieces = piece_count();
  for (int64_t id : ids) {
    if (id == pad_id_ || id == eos_id_) continue;
    if (id >= pieces) {
      flush();
      int64_t s = id - pieces;
      out += s < static_cast<int64_t>(specials_.size()) ? specials_[s] : "<?>";
    } else {
      run.push_back(static_cast<int>(id));
    }
  }
  flush();
  return out;
}

int64_t Tokenizer::special_id(const std::string& token) const {
  auto it = special_index_.find(token);
  GENSAR_CHECK(it != special_index_.end(), "unknown special token '{}'", token);
  return it->second;
}

bool Tokenizer::has_special(const std::string& token) const {
  return special_index_.count(token) > 0;
}

}  // namespace gensar::train
