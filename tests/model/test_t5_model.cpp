#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "core/model/t5_model.h"
#include "core/model/t5_scorer.h"
#include "core/decoding/beam_search.h"
#include "core/decoding/prefix_trie.h"
#include "tests/model/tiny_models.h"
#include "tests/support/full_vocabulary_scorer.h"

namespace gensar::model {
namespace {

using testing::tiny_batch;
using testing::tiny_config;
using torch::indexing::Slice;

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(T5Model, ForwardShapesLossAndGradients) {
  torch::set_num_threads(1);
  T5Model model(tiny_config(), nullptr, 1);
  auto b = tiny_batch(40);
  auto out = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 5, 40}));
  EXPECT_EQ(out.example_loss.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(out.token_count[2].item<int64_t>(), 4);
  // The loss is the mean token cross-entropy over labelled positions.
  auto expected = torch::nn::functional::cross_entropy(
      out.logits.reshape({15, 40}), b.labels.reshape({15}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-6);
  auto row2 = torch::nn::functional::cross_entropy(out.logits[2].slice(0, 0, 4),
                                                   b.labels[2].slice(0, 0, 4));
  EXPECT_NEAR(out.example_loss[2].item<double>(), row2.item<double>(), 1e-6);
  out.loss.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(T5Model, PaddedInputTokensDoNotChangeOutputs) {
  torch::set_num_threads(1);
  T5Model model(tiny_config(), nullptr, 2);
  model->eval();
  auto b = tiny_batch(40);
  auto before = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  auto changed = b.input_ids.clone();
  changed.masked_fill_(b.attention_mask == 0, 17);
  auto after = model->forward(changed, b.attention_mask, b.decoder_input_ids, b.labels);
  EXPECT_LT(max_diff(before.logits, after.logits), 1e-6);
  // A real token does change them (the check above is not vacuous).
  changed.index_put_({0, 0}, (b.input_ids.index({0, 0}).item<int64_t>() + 1) % 40);
  auto real = model->forward(changed, b.attention_mask, b.decoder_input_ids, b.labels);
  EXPECT_GT(max_diff(before.logits[0], real.logits[0]), 1e-4);
}

TEST(T5Model, FutureDecoderTokensDoNotChangeEarlierLogits) {
  torch::set_num_threads(1);
  T5Model model(tiny_config(FeedForward::kGatedGelu, false), nullptr, 3);
  model->eval();
  auto b = tiny_batch(40);
  auto before = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  auto changed = b.decoder_input_ids.clone();
  changed.index_put_({Slice(), 3}, 33);
  auto after = model->forward(b.input_ids, b.attention_mask, changed, b.labels);
  EXPECT_LT(max_diff(before.logits.slice(1, 0, 3), after.logits.slice(1, 0, 3)), 1e-6);
  EXPECT_GT(max_diff(before.logits.slice(1, 3, 5), after.logits.slice(1, 3, 5)), 1e-4);
}

// Incremental decoding (KV caches, reorder) gives the teacher-forced log-probs.
void check_incremental(const T5Config& config) {
  torch::set_num_threads(1);
  T5Model model(config, nullptr, 4);
  model->eval();
  auto b = tiny_batch(config.vocab_size);
  T5Scorer scorer(model);
  auto state = scorer.start(b.input_ids, b.attention_mask);
  // Rows after step 2 follow index {2, 0, 0, 1}, as beam search would reorder them.
  auto index = torch::tensor({2, 0, 0, 1}, torch::kLong);
  auto dec = b.decoder_input_ids;
  auto full_before = torch::log_softmax(
      model->forward(b.input_ids, b.attention_mask, dec, torch::Tensor()).logits, -1);
  auto reordered_dec = dec.index_select(0, index);
  auto full_after = torch::log_softmax(
      model->forward(b.input_ids.index_select(0, index), b.attention_mask.index_select(0, index),
                     reordered_dec, torch::Tensor())
          .logits,
      -1);
  EXPECT_EQ(scorer.decoder_start_token(), 0);
  for (int64_t t = 0; t < dec.size(1); ++t) {
    if (t == 2) scorer.reorder(*state, index);
    const auto& tokens = t < 2 ? dec : reordered_dec;
    auto step = scorer.step(*state, tokens.select(1, t));
    const auto& full = t < 2 ? full_before : full_after;
    EXPECT_LT(max_diff(step, full.select(1, t)), 1e-5) << "step " << t;
  }
}

TEST(T5Model, IncrementalDecodingMatchesFullForwardTied) { check_incremental(tiny_config()); }
TEST(T5Model, IncrementalDecodingMatchesFullForwardGatedUntied) {
  check_incremental(tiny_config(FeedForward::kGatedGelu, false));
}

TEST(T5Model, DropoutIsSeededAndOffInEval) {
  torch::set_num_threads(1);
  auto b = tiny_batch(40);
  auto loss_with = [&](uint64_t dropout_seed, bool train) {
    T5Model model(tiny_config(FeedForward::kRelu, true, 0.2), nullptr, 5);
    model->dropout_rng().reseed(dropout_seed, 0, 0);
    model->train(train);
    return model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels)
        .loss.item<double>();
  };
  EXPECT_EQ(loss_with(1, true), loss_with(1, true));
  EXPECT_NE(loss_with(1, true), loss_with(2, true));
  EXPECT_EQ(loss_with(1, false), loss_with(2, false));
  EXPECT_NE(loss_with(1, true), loss_with(1, false));
}

// Resume needs the dropout streams back exactly: restoring the state replays the same masks.
TEST(T5Model, DropoutRngStateRestoresMasks) {
  torch::set_num_threads(1);
  auto b = tiny_batch(40);
  T5Model model(tiny_config(FeedForward::kRelu, true, 0.2), nullptr, 5);
  model->train();
  model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
  auto saved = model->dropout_rng().state();
  auto first = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels).loss;
  auto second = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels).loss;
  EXPECT_NE(first.item<double>(), second.item<double>());
  model->dropout_rng().set_state(saved);
  auto replay = model->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels).loss;
  EXPECT_EQ(first.item<double>(), replay.item<double>());
}

TEST(T5Config, PresetOverridesChangeOnlyTheNamedDimensions) {
  const T5Config base = T5Config::preset("tiger", 64);
  const T5Config c = T5Config::preset("tiger:d_ff=512,heads=4,d_kv=32,encoder_layers=2", 64);
  EXPECT_EQ(c.d_ff, 512);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.d_kv, 32);
  EXPECT_EQ(c.num_encoder_layers, 2);
  EXPECT_EQ(c.num_decoder_layers, base.num_decoder_layers);
  EXPECT_EQ(c.d_model, base.d_model);
  EXPECT_EQ(c.vocab_size, 64);
  EXPECT_THROW(T5Config::preset("tiger:d_ff", 64), std::exception);
  EXPECT_THROW(T5Config::preset("tiger:width=3", 64), std::exception);
  EXPECT_THROW(T5Config::preset("tiger:d_ff=-1", 64), std::exception);
  EXPECT_THROW(T5Config::preset("tiger:d_ff=12x", 64), std::exception);
  EXPECT_THROW(T5Config::preset("huge", 64), std::exception);
}

TEST(T5Model, ParameterCountAndShardMap) {
  for (auto ff : {FeedForward::kRelu, FeedForward::kGatedGelu}) {
    for (bool tied : {true, false}) {
      auto config = tiny_config(ff, tied);
      T5Model model(config);
      int64_t n = 0;
      for (const auto& p : model->parameters()) n += p.numel();
      EXPECT_EQ(n, parameter_count(config));
      auto shards = model->partition_dims();
      EXPECT_EQ(shards.size(), model->parameters().size());
      EXPECT_EQ(shards.at("shared.weight"), 0);
      EXPECT_EQ(shards.at("encoder.layers.0.self_attn.o.weight"), 1);
      EXPECT_EQ(shards.at("decoder.layers.1.cross_attn_norm.weight"), -1);
      EXPECT_EQ(shards.count("lm_head.weight"), tied ? 0u : 1u);
      EXPECT_EQ(shards.at("encoder.relative_bias.weight"), 1);
      EXPECT_EQ(shards.at("decoder.layers.0.ffn." + std::string(ff == FeedForward::kRelu ? "wi" : "wi_1") +
                          ".weight"), 0);
      // Conversion asks a size-1 model of the same structure: it must answer the same.
      EXPECT_EQ(partition_dims_for(config), shards);
    }
  }
  // The FLOP estimate grows with the source length and training costs three forwards.
  auto tiger = T5Config::tiger(10000);
  EXPECT_GT(forward_flops_per_sample(tiger, 128, 6), forward_flops_per_sample(tiger, 64, 6));
  EXPECT_DOUBLE_EQ(train_flops_per_sample(tiger, 128, 6), 3 * forward_flops_per_sample(tiger, 128, 6));
}

TEST(T5Model, RelativePositionBucketsFollowT5) {
  // Bidirectional, 32 buckets, max distance 128: exact below 8 per side, then logarithmic.
  auto rel = torch::tensor({-200, -20, -3, 0, 3, 20, 200}, torch::kLong);
  auto bi = relative_position_bucket(rel, true, 32, 128);
  // Worked by hand from T5's formula: distance 20 -> 8 + floor(log(20/8)/log(128/8)*8) = 10;
  // 200 -> 8 + 9 = 17, clamped to 15; positive distances add 16.
  EXPECT_EQ(bi[0].item<int64_t>(), 15);
  EXPECT_EQ(bi[1].item<int64_t>(), 10);
  EXPECT_EQ(bi[2].item<int64_t>(), 3);
  EXPECT_EQ(bi[3].item<int64_t>(), 0);
  EXPECT_EQ(bi[4].item<int64_t>(), 19);
  EXPECT_EQ(bi[5].item<int64_t>(), 26);
  EXPECT_EQ(bi[6].item<int64_t>(), 31);
  auto causal = relative_position_bucket(rel, false, 32, 128);
  EXPECT_EQ(causal[2].item<int64_t>(), 3);
  EXPECT_EQ(causal[4].item<int64_t>(), 0);  // future keys all share bucket 0 (masked anyway)
  EXPECT_EQ(causal[1].item<int64_t>(), 17);  // 16 exact buckets, then 16 + log(20/16)/log(8)*16 = 17.7
  EXPECT_EQ(causal[0].item<int64_t>(), 31);  // clamped to the last bucket
}

// Sanity: a tiny model learns to copy a 4-token input, decoded greedily through the scorer.
TEST(T5Model, TinyModelOverfitsCopyTask) {
  torch::set_num_threads(1);
  torch::manual_seed(11);
  auto config = tiny_config();
  config.vocab_size = 12;
  T5Model model(config, nullptr, 6);
  const int64_t n = 16, len = 4;
  auto src = torch::randint(2, 12, {n, len}, torch::kLong);
  auto eos = torch::full({n, 1}, config.eos_token_id, torch::kLong);
  auto labels = torch::cat({src, eos}, 1);
  auto dec_in = torch::cat({torch::zeros({n, 1}, torch::kLong), src}, 1);
  auto mask = torch::ones({n, len}, torch::kLong);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
  double loss = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    auto out = model->forward(src, mask, dec_in, labels);
    out.loss.backward();
    opt.step();
    loss = out.loss.item<double>();
    if (loss < 0.01) break;
  }
  EXPECT_LT(loss, 0.05);
  model->eval();
  T5Scorer scorer(model);
  auto state = scorer.start(src, mask);
  auto token = torch::full({n}, scorer.decoder_start_token(), torch::kLong);
  std::vector<torch::Tensor> decoded;
  for (int64_t t = 0; t <= len; ++t) {
    token = scorer.step(*state, token).argmax(-1);
    decoded.push_back(token);
  }
  EXPECT_TRUE(torch::equal(torch::stack(decoded, 1), labels));
}


// Beam search keeps the encoder memory once per case (grouped cross-attention); teacher forcing
// with a different number of sequences per case goes through the expanded path. Both must give
// the same sequence scores, and a beam as wide as the trie must rank exactly as exhaustive scoring.
TEST(T5Model, GroupedBeamDecodingEqualsTeacherForcedScores) {
  torch::set_num_threads(1);
  T5Model model(tiny_config(), nullptr, 3);
  model->eval();
  auto b = tiny_batch(40);
  T5Scorer scorer(model);
  torch::manual_seed(11);
  std::vector<decoding::PrefixTrie> tries;
  std::vector<std::vector<std::vector<int64_t>>> sequences(3);
  for (int64_t c = 0; c < 3; ++c) {
    const int64_t n = 5 + 3 * c;  // different identifier counts per case
    auto ids = torch::randint(2, 40, {n, 3}, torch::kLong);
    tries.push_back(decoding::PrefixTrie::build(ids));
    for (int64_t i = 0; i < n; ++i)
      sequences[c].push_back({ids[i][0].item<int64_t>(), ids[i][1].item<int64_t>(),
                              ids[i][2].item<int64_t>()});
  }
  std::vector<const decoding::PrefixTrie*> trie_ptrs = {&tries[0], &tries[1], &tries[2]};
  decoding::BeamSearchOptions o;
  o.num_beams = 20;  // wider than every case's identifier count
  o.forced_prefix = {5};
  auto result = decoding::beam_search(scorer, b.input_ids, b.attention_mask, trie_ptrs, o);
  auto exact = decoding::score_sequences(scorer, b.input_ids, b.attention_mask, sequences, {5});
  for (int64_t c = 0; c < 3; ++c) {
    std::map<std::vector<int64_t>, double> expected;
    for (size_t i = 0; i < sequences[c].size(); ++i) expected[sequences[c][i]] = exact[c][i];
    ASSERT_EQ(result.cases[c].beams.size(), expected.size()) << "case " << c;
    double previous = 1e300;
    for (const auto& h : result.cases[c].beams) {
      ASSERT_TRUE(expected.count(h.tokens));
      EXPECT_NEAR(h.score, expected[h.tokens], 1e-4) << "case " << c;
      EXPECT_LE(h.score, previous + 1e-12);
      previous = h.score;
    }
  }
}

// decode_step_columns projects onto a few tokens and skips the softmax: renormalised over those
// tokens it must equal the full step's log-probs renormalised the same way, for tied and untied
// output layers.
TEST(T5Model, DecodeStepColumnsAreTheFullStepUpToARowConstant) {
  torch::set_num_threads(1);
  for (bool tied : {true, false}) {
    T5Model model(tiny_config(FeedForward::kRelu, tied), nullptr, 3);
    model->eval();
    auto b = tiny_batch(40);
    auto full_state = model->start_decoding(b.input_ids, b.attention_mask);
    auto column_state = model->start_decoding(b.input_ids, b.attention_mask);
    torch::Tensor columns = torch::tensor(std::vector<int64_t>{3, 7, 8, 21, 39}, torch::kLong);
    torch::Tensor last = torch::full({3}, model->config().decoder_start_token_id, torch::kLong);
    for (int step = 0; step < 3; ++step) {
      torch::Tensor full = model->decode_step(*full_state, last).index_select(1, columns);
      torch::Tensor part = model->decode_step_columns(*column_state, last, columns);
      ASSERT_EQ(part.sizes(), full.sizes());
      EXPECT_LT(max_diff(torch::log_softmax(part, 1), torch::log_softmax(full, 1)), 1e-5)
          << "tied " << tied << " step " << step;
      last = torch::full({3}, 5 + step, torch::kLong);
    }
  }
}

// Catalogue-normalised beam search scores through step_columns; it must return the same
// hypotheses, in the same order, with the same scores as through the whole vocabulary.
TEST(T5Model, CatalogueBeamSearchThroughColumnsEqualsFullVocabulary) {
  torch::set_num_threads(1);
  T5Model model(tiny_config(), nullptr, 3);
  model->eval();
  auto b = tiny_batch(40);
  T5Scorer scorer(model);
  decoding::FullVocabularyScorer reference(scorer);
  torch::manual_seed(12);
  auto catalogue_ids = torch::randint(2, 40, {60, 3}, torch::kLong);
  auto catalogue = decoding::PrefixTrie::build(catalogue_ids);
  std::vector<decoding::PrefixTrie> tries;
  for (int64_t c = 0; c < 3; ++c) tries.push_back(decoding::PrefixTrie::build(catalogue_ids.slice(0, 10 * c, 10 * c + 25)));
  for (bool per_case : {false, true}) {
    std::vector<const decoding::PrefixTrie*> trie_ptrs;
    if (per_case) {
      for (const auto& t : tries) trie_ptrs.push_back(&t);
    } else {
      trie_ptrs.push_back(&catalogue);
    }
    decoding::BeamSearchOptions o;
    o.num_beams = 8;
    o.forced_prefix = {5};
    o.normaliser = &catalogue;
    auto fast = decoding::beam_search(scorer, b.input_ids, b.attention_mask, trie_ptrs, o);
    auto slow = decoding::beam_search(reference, b.input_ids, b.attention_mask, trie_ptrs, o);
    for (int64_t c = 0; c < 3; ++c) {
      ASSERT_EQ(fast.cases[c].beams.size(), slow.cases[c].beams.size());
      for (size_t j = 0; j < slow.cases[c].beams.size(); ++j) {
        EXPECT_EQ(fast.cases[c].beams[j].tokens, slow.cases[c].beams[j].tokens) << "case " << c << " rank " << j;
        EXPECT_NEAR(fast.cases[c].beams[j].score, slow.cases[c].beams[j].score, 1e-4);
      }
      EXPECT_EQ(fast.cases[c].ranked_items(), slow.cases[c].ranked_items());
    }
  }
}

}  // namespace
}  // namespace gensar::model
