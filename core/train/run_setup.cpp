#include "core/train/run_setup.h"

#include "core/common/check.h"
#include "core/common/log.h"

namespace gensar::train {

RunPieces assemble_run(const RunInputs& in) {
  RunPieces p;
  p.dataset = std::make_shared<data::Dataset>(in.dataset_dir);
  p.identifiers = std::make_shared<rqvae::ItemIdentifiers>(rqvae::load_identifiers(in.identifiers_path));
  p.identifiers->validate();
  if (!in.spm_model_bytes.empty()) {
    p.tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_serialized(in.spm_model_bytes));
  } else if (!in.spm_model.empty()) {
    p.tokenizer = std::make_shared<Tokenizer>(Tokenizer::load_file(in.spm_model));
  } else {
    p.tokenizer = std::make_shared<Tokenizer>(
        Tokenizer::train(tokenizer_corpus(*p.dataset), in.tokenizer));
  }
  p.tokenizer->add_special_tokens(vocabulary_special_tokens(*p.identifiers));
  p.prompts = std::make_shared<PromptSet>(PromptSet::load(in.prompts_path));
  p.prompts->compile(*p.tokenizer);
  p.builder = std::make_shared<SampleBuilder>(p.dataset, p.identifiers, p.tokenizer, p.prompts,
                                              in.samples);
  GENSAR_INFO("train", "vocabulary {} ({} pieces + {} special), {} items, {} users",
              p.tokenizer->vocab_size(), p.tokenizer->piece_count(),
              p.tokenizer->special_tokens().size(), p.dataset->num_items(), p.dataset->num_users());
  return p;
}

std::string default_prompts_path() {
  return std::string(GENSAR_TRAIN_SOURCE_DIR) + "/configs/prompts.txt";
}

model::T5Config model_config_for(const std::string& preset, const Tokenizer& tokenizer,
                                 double dropout, int tp_size) {
  model::T5Config c = model::T5Config::preset(
      preset, model::pad_vocab_size(tokenizer.vocab_size(), 8 * static_cast<int64_t>(tp_size)));
  c.dropout_rate = dropout;
  c.pad_token_id = tokenizer.pad_id();
  c.eos_token_id = tokenizer.eos_id();
  c.decoder_start_token_id = tokenizer.pad_id();
  c.validate(tp_size);
  return c;
}

}  // namespace gensar::train
