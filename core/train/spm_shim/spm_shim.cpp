// A C facade over libsentencepiece, built as its own shared library and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by core/train/sentencepiece_library.cpp.
//
// Why: Debian's libsentencepiece embeds and exports its own protobuf 3.14 runtime, while LibTorch
// loads the system libprotobuf 3.21. Linked into one process, the two collide at static
// initialisation (segfault) or at version verification (abort). Loading sentencepiece in a private
// symbol scope keeps each library on its own protobuf.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void set_error(char* err, size_t errlen, const std::string& msg) {
  if (!err || errlen == 0) return;
  std::strncpy(err, msg.c_str(), errlen - 1);
  err[errlen - 1] = '\0';
}

class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const char* const* texts, const size_t* lens, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (lens[i] > 0) data_.emplace_back(texts[i], lens[i]);
  }
  bool done() const override { return i_ >= data_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return data_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::vector<std::string> data_;
  size_t i_ = 0;
};

}  // namespace

extern "C" {

void* gspm_load(const char* bytes, size_t len, char* err, size_t errlen) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->LoadFromSerializedProto(std::string(bytes, len));
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void gspm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }
void gspm_free_buf(void* buf) { std::free(buf); }

int gspm_piece_size(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize(); }
int gspm_pad_id(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->pad_id(); }
int gspm_eos_id(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->eos_id(); }
int gspm_unk_id(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->unk_id(); }

int gspm_encode(void* h, const char* text, size_t len, int** out, size_t* n) {
  std::vector<int> ids;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(
      std::string(text, len), &ids);
  if (!status.ok()) return -1;
  *n = ids.size();
  *out = static_cast<int*>(std::malloc(sizeof(int) * (ids.empty() ? 1 : ids.size())));
  if (!ids.empty()) std::memcpy(*out, ids.data(), sizeof(int) * ids.size());
  return 0;
}

int gspm_decode(void* h, const int* ids, size_t n, char** out, size_t* len) {
  std::string text;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(h)->Decode(
      std::vector<int>(ids, ids + n), &text);
  if (!status.ok()) return -1;
  *len = text.size();
  *out = static_cast<char*>(std::malloc(text.size() + 1));
  std::memcpy(*out, text.data(), text.size());
  (*out)[text.size()] = '\0';
  return 0;
}

int gspm_train(const char* args, const char* const* texts, const size_t* lens, size_t n,
               char** model_out, size_t* model_len, char* err, size_t errlen) {
  Sentences sentences(texts, lens, n);
  std::string model;
  auto status = sentencepiece::SentencePieceTrainer::Train(args, &sentences, &model);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return -1;
  }
  *model_len = model.size();
  *model_out = static_cast<char*>(std::malloc(model.size()));
  std::memcpy(*model_out, model.data(), model.size());
  return 0;
}

}  // extern "C"
