// Batched beam search over a Seq2SeqScorer: B cases x K beams, constrained to a prefix trie of valid
// identifiers (one shared trie, or one per case) or unconstrained (then reports how many returned
// sequences are not valid identifiers). Algorithm and guarantees: docs/evaluation.md.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/decoding/prefix_trie.h"
#include "core/decoding/seq2seq.h"

namespace gensar::decoding {

struct BeamSearchOptions {
  int64_t num_beams = 30;
  // Tokens forced before the identifier (e.g. the <rec_item> / <src_item> task token). Their
  // log-probs are part of the sequence score (the same for every beam of a case).
  std::vector<int64_t> forced_prefix;
  // false: plain beam search over the whole vocabulary for id_length steps; tries only classify
  // the results (valid or not).
  bool constrained = true;
  // >= 0: after the identifier, the log-prob of this end token is added to each beam's score (the
  // model's probability of stopping there), and beams are re-ranked.
  int64_t end_token = -1;
  // Identifier length for unconstrained search without a trie (0 = take it from the trie).
  int64_t id_length = 0;
  // Non-null: each identifier token's log-prob is renormalised over the children of its prefix in
  // this trie (the catalogue's; every case trie must be a subset of it), as a model trained with
  // --id-softmax catalogue expects (core/train/identifier_softmax.h). Constrained search only.
  const PrefixTrie* normaliser = nullptr;
  // Weight of each identifier level's log-prob in the sequence score, level 0 first; levels past
  // the list weigh 1 (empty: the plain sum). A weight below 1 flattens that level's distribution
  // in the ranking: a decoding-time calibration chosen on validation (docs/evaluation.md, "Level
  // weights"). Forced-prefix and end-token log-probs are never weighted.
  std::vector<double> level_weights;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // the identifier tokens (forced prefix and end token excluded)
  double score = 0;             // sequence log-prob
  std::vector<int64_t> items;   // items with this identifier; empty if it is not in the trie
};

struct CaseBeams {
  std::vector<Hypothesis> beams;  // ranked: score desc, then tokens lexicographic asc
  // Items in rank order, at most `limit` (collisions expand to several items at one score).
  std::vector<int64_t> ranked_items(int64_t limit = -1) const;
  std::vector<double> ranked_scores(int64_t limit = -1) const;
};

struct BeamSearchResult {
  std::vector<CaseBeams> cases;
  int64_t returned_sequences = 0;
  int64_t invalid_sequences = 0;  // returned sequences that are not identifiers in the case's trie
  double invalid_rate() const {
    return returned_sequences ? static_cast<double>(invalid_sequences) / returned_sequences : 0.0;
  }
};

// input_ids / attention_mask: [B, S]. tries: one per case, or a single trie shared by all cases
// (may be empty only for unconstrained search with options.id_length set).
BeamSearchResult beam_search(Seq2SeqScorer& scorer, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask,
                             const std::vector<const PrefixTrie*>& tries,
                             const BeamSearchOptions& options);

// Exact log-prob of given output sequences by teacher forcing: for case b, the sum over
// forced_prefix + sequences[b][j] (+ end_token if >= 0) of the next-token log-probs. Returns
// per case one score per sequence. Used to check beam search and to rescore candidates.
std::vector<std::vector<double>> score_sequences(
    Seq2SeqScorer& scorer, const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
    const std::vector<std::vector<std::vector<int64_t>>>& sequences,
    const std::vector<int64_t>& forced_prefix = {}, int64_t end_token = -1);

}  // namespace gensar::decoding
