#include "core/train/sentencepiece_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "core/common/check.h"

namespace gensar::train {
namespace {

struct Api {
  void* (*load)(const char*, size_t, char*, size_t);
  void (*free_model)(void*);
  void (*free_buf)(void*);
  int (*piece_size)(void*);
  int (*pad_id)(void*);
  int (*eos_id)(void*);
  int (*unk_id)(void*);
  int (*encode)(void*, const char*, size_t, int**, size_t*);
  int (*decode)(void*, const int*, size_t, char**, size_t*);
  int (*train)(const char*, const char* const*, const size_t*, size_t, char**, size_t*, char*, size_t);
};

template <typename F>
void bind(void* lib, const char* name, F* fn) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  GENSAR_CHECK(*fn != nullptr, "sentencepiece shim lacks symbol {}", name);
}

const Api& api() {
  static Api a;
  static std::once_flag once;
  std::call_once(once, [] {
    // GENSAR_SPM_LIB overrides; otherwise the shim built beside this binary's build tree.
    const char* env = std::getenv("GENSAR_SPM_LIB");
    std::string path = env ? env : GENSAR_SPM_LIB_PATH;
    void* lib = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    GENSAR_CHECK(lib != nullptr, "cannot load the sentencepiece shim '{}': {}", path, dlerror());
    bind(lib, "gspm_load", &a.load);
    bind(lib, "gspm_free", &a.free_model);
    bind(lib, "gspm_free_buf", &a.free_buf);
    bind(lib, "gspm_piece_size", &a.piece_size);
    bind(lib, "gspm_pad_id", &a.pad_id);
    bind(lib, "gspm_eos_id", &a.eos_id);
    bind(lib, "gspm_unk_id", &a.unk_id);
    bind(lib, "gspm_encode", &a.encode);
    bind(lib, "gspm_decode", &a.decode);
    bind(lib, "gspm_train", &a.train);
  });
  return a;
}

}  // namespace

SentencePieceModel::SentencePieceModel(const std::string& bytes) {
  char err[512] = {0};
  handle_ = api().load(bytes.data(), bytes.size(), err, sizeof err);
  GENSAR_CHECK(handle_ != nullptr, "cannot load SentencePiece model: {}", err);
}

SentencePieceModel::~SentencePieceModel() {
  if (handle_) api().free_model(handle_);
}

std::vector<int> SentencePieceModel::encode(const std::string& text) const {
  int* ids = nullptr;
  size_t n = 0;
  GENSAR_CHECK(api().encode(handle_, text.data(), text.size(), &ids, &n) == 0,
               "SentencePiece encode failed");
  std::vector<int> out(ids, ids + n);
  api().free_buf(ids);
  return out;
}

std::string SentencePieceModel::decode(const std::vector<int>& ids) const {
  char* text = nullptr;
  size_t len = 0;
  GENSAR_CHECK(api().decode(handle_, ids.data(), ids.size(), &text, &len) == 0,
               "SentencePiece decode failed");
  std::string out(text, len);
  api().free_buf(text);
  return out;
}

int SentencePieceModel::piece_size() const { return api().piece_size(handle_); }
int SentencePieceModel::pad_id() const { return api().pad_id(handle_); }
int SentencePieceModel::eos_id() const { return api().eos_id(handle_); }
int SentencePieceModel::unk_id() const { return api().unk_id(handle_); }

std::string SentencePieceModel::train(const std::string& args,
                                      const std::vector<std::string>& sentences) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& s : sentences) {
    ptrs.push_back(s.data());
    lens.push_back(s.size());
  }
  char* model = nullptr;
  size_t len = 0;
  char err[1024] = {0};
  int rc = api().train(args.c_str(), ptrs.data(), lens.data(), ptrs.size(), &model, &len, err,
                       sizeof err);
  GENSAR_CHECK(rc == 0, "SentencePiece training failed: {}", err);
  std::string out(model, len);
  api().free_buf(model);
  return out;
}

}  // namespace gensar::train
