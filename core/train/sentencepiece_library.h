// SentencePiece, loaded in a private symbol scope (see core/train/spm_shim/spm_shim.cpp for why).
#pragma once

#include <string>
#include <vector>

namespace gensar::train {

class SentencePieceModel {
 public:
  // Parses serialized ModelProto bytes.
  explicit SentencePieceModel(const std::string& model_bytes);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  int piece_size() const;
  int pad_id() const;
  int eos_id() const;
  int unk_id() const;

  // Trains a model with SentencePiece's flag string on in-memory sentences; returns ModelProto bytes.
  static std::string train(const std::string& args, const std::vector<std::string>& sentences);

 private:
  void* handle_ = nullptr;
};

}  // namespace gensar::train
