// Assembling the pieces of a GenSAR training run from its inputs: dataset, identifiers, tokenizer
// (trained on the dataset's item text and queries, or loaded from a SentencePiece model file, then
// extended with the special tokens), prompt templates and the SampleBuilder; and the T5 config of
// the chosen preset for that vocabulary.
#pragma once

#include <memory>
#include <string>

#include "core/model/t5_config.h"
#include "core/train/sample_builder.h"

namespace gensar::train {

struct RunInputs {
  std::string dataset_dir;
  std::string identifiers_path;
  std::string prompts_path;          // configs/prompts.txt by default (set by the caller)
  std::string spm_model;             // load this SentencePiece model instead of training one
  std::string spm_model_bytes;       // or these bytes (checkpoint reload); wins over spm_model
  TokenizerTrainOptions tokenizer;   // when training one
  SampleBuilderOptions samples;
};

struct RunPieces {
  std::shared_ptr<data::Dataset> dataset;
  std::shared_ptr<rqvae::ItemIdentifiers> identifiers;
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<PromptSet> prompts;
  std::shared_ptr<SampleBuilder> builder;
};

RunPieces assemble_run(const RunInputs& inputs);

// configs/prompts.txt of the source tree this library was built from.
std::string default_prompts_path();

// The preset's config for this tokenizer: vocabulary padded to a multiple of 8 x tp_size, pad/eos
// and decoder start from the tokenizer, dropout as given.
model::T5Config model_config_for(const std::string& preset, const Tokenizer& tokenizer,
                                 double dropout, int tp_size);

}  // namespace gensar::train
