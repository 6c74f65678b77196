#include "core/decoding/beam_search.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/check.h"

namespace gensar::decoding {
namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();

// One live or dead hypothesis row of the decoder state.
struct Beam {
  double score = kDead;
  int64_t node = -1;  // trie node (constrained search)
  int64_t norm_node = -1;  // node in options.normaliser (catalogue-normalised scoring)
  std::vector<int64_t> tokens;
  bool alive() const { return score != kDead; }
};

struct Candidate {
  double score;
  int64_t parent;  // row in the current state
  int64_t token;
  int64_t node;  // trie node after the token, or -1
  int64_t norm_node = -1;  // normaliser node after the token
};

// Deterministic order: score desc, then the token sequence (parent's tokens + token) ascending.
struct CandidateOrder {
  const std::vector<Beam>* rows;
  bool node_order;  // constrained: node ids within one trie depth are already in prefix order
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.score != b.score) return a.score > b.score;
    if (node_order) return a.node < b.node;
    const std::vector<int64_t>& ta = (*rows)[a.parent].tokens;
    const std::vector<int64_t>& tb = (*rows)[b.parent].tokens;
    if (ta != tb) return ta < tb;
    return a.token < b.token;
  }
};

torch::Tensor long_tensor(const std::vector<int64_t>& values, const torch::Device& device) {
  return torch::tensor(values, torch::kLong).to(device);
}

// One step's next-token scores where the scorer left them (CPU or GPU): `values` [N, W], column j
// holding token `columns[j]`, or token j when `columns` is empty (the whole vocabulary).
struct StepScores {
  torch::Tensor values;
  std::vector<int64_t> column_of;  // token -> column (-1: not scored); empty = identity

  int64_t flat(int64_t row, int64_t token) const {
    const int64_t column = column_of.empty() ? token : column_of[token];
    GENSAR_CHECK(column >= 0, "token {} was not scored at this step", token);
    return row * values.size(1) + column;
  }
};

// The whole vocabulary's log-probs [N, V].
StepScores step_log_probs(Seq2SeqScorer& scorer, DecodeState& state,
                          const std::vector<int64_t>& last, const torch::Device& device) {
  torch::Tensor logp = scorer.step(state, long_tensor(last, device));
  GENSAR_CHECK(logp.dim() == 2 && logp.size(0) == static_cast<int64_t>(last.size()) &&
                   logp.size(1) == scorer.vocab_size(),
               "scorer.step returned a {}-dim tensor ({} x {}) for {} rows and vocabulary {}",
               logp.dim(), logp.dim() > 0 ? logp.size(0) : 0, logp.dim() > 1 ? logp.size(1) : 0,
               last.size(), scorer.vocab_size());
  return {logp, {}};
}

// Only the tokens that continue some live row's prefix in the normaliser trie, unnormalised:
// normalise_over_catalogue renormalises over exactly those children, so a per-row shift (the
// vocabulary's log-partition) cancels, and the model projects onto a few hundred tokens, not V.
StepScores step_catalogue_columns(Seq2SeqScorer& scorer, DecodeState& state, const std::vector<int64_t>& last,
                                  const std::vector<Beam>& rows, const PrefixTrie& normaliser,
                                  const torch::Device& device) {
  std::vector<int64_t> columns;
  for (const Beam& row : rows) {
    if (!row.alive()) continue;
    auto [first, end] = normaliser.children(row.norm_node);
    for (int64_t c = first; c < end; ++c) columns.push_back(normaliser.token(c));
  }
  std::sort(columns.begin(), columns.end());
  columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
  StepScores scores;
  scores.column_of.assign(scorer.vocab_size(), -1);
  for (size_t j = 0; j < columns.size(); ++j) {
    GENSAR_CHECK(columns[j] >= 0 && columns[j] < scorer.vocab_size(), "normaliser token {} outside vocabulary {}",
                 columns[j], scorer.vocab_size());
    scores.column_of[columns[j]] = static_cast<int64_t>(j);
  }
  scores.values = scorer.step_columns(state, long_tensor(last, device), long_tensor(columns, device));
  GENSAR_CHECK(scores.values.dim() == 2 && scores.values.size(0) == static_cast<int64_t>(last.size()) &&
                   scores.values.size(1) == static_cast<int64_t>(columns.size()),
               "scorer.step_columns returned {} for {} rows and {} columns", c10::str(scores.values.sizes()),
               last.size(), columns.size());
  return scores;
}

// Scores at flat positions (StepScores::flat), copied to the host: only the candidates' values
// leave the device, not the whole matrix.
std::vector<float> gather_log_probs(const torch::Tensor& values, const std::vector<int64_t>& flat) {
  std::vector<float> out(flat.size());
  if (flat.empty()) return out;
  torch::Tensor picked = values.reshape(-1)
                             .index_select(0, long_tensor(flat, values.device()))
                             .to(torch::kCPU, torch::kFloat)
                             .contiguous();
  std::copy(picked.data_ptr<float>(), picked.data_ptr<float>() + picked.numel(), out.begin());
  return out;
}

// Log-probs of one token for every row (forced tokens, end token).
std::vector<float> column_log_probs(const torch::Tensor& logp, int64_t token) {
  torch::Tensor col = logp.select(1, token).to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(col.data_ptr<float>(), col.data_ptr<float>() + col.numel());
}

}  // namespace

std::vector<int64_t> CaseBeams::ranked_items(int64_t limit) const {
  std::vector<int64_t> out;
  for (const Hypothesis& h : beams) {
    for (int64_t item : h.items) {
      if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) return out;
      out.push_back(item);
    }
  }
  return out;
}

std::vector<double> CaseBeams::ranked_scores(int64_t limit) const {
  std::vector<double> out;
  for (const Hypothesis& h : beams) {
    for (size_t i = 0; i < h.items.size(); ++i) {
      if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) return out;
      out.push_back(h.score);
    }
  }
  return out;
}

namespace {

// The identifier length every case decodes (from the options or the tries), after checking that
// the tries fit the batch.
int64_t checked_id_length(int64_t num_cases, const std::vector<const PrefixTrie*>& tries,
                          const BeamSearchOptions& options) {
  GENSAR_CHECK(options.num_beams > 0, "num_beams must be positive, got {}", options.num_beams);
  GENSAR_CHECK(tries.empty() || tries.size() == 1 || static_cast<int64_t>(tries.size()) == num_cases,
               "{} tries for {} cases (need 1 shared or 1 per case)", tries.size(), num_cases);
  GENSAR_CHECK(!options.constrained || !tries.empty(), "constrained beam search needs a trie");
  for (const PrefixTrie* t : tries) GENSAR_CHECK(t != nullptr, "null trie");
  GENSAR_CHECK(options.id_length > 0 || !tries.empty(),
               "beam search needs a trie or options.id_length");
  const int64_t id_length = options.id_length > 0 ? options.id_length : tries[0]->id_length();
  GENSAR_CHECK(static_cast<int64_t>(options.level_weights.size()) <= id_length,
               "{} level weights for identifiers of {} levels", options.level_weights.size(), id_length);
  for (double w : options.level_weights)
    GENSAR_CHECK(w > 0 && std::isfinite(w), "level weights must be positive and finite, got {}", w);
  for (const PrefixTrie* t : tries) {
    GENSAR_CHECK(t->id_length() == id_length, "trie id length {} differs from {}",
                 t->id_length(), id_length);
  }
  return id_length;
}

// Unconstrained search: per row, every token scoring at least the row's K-th best can make the
// case's top K; taking all ties keeps the choice deterministic. Computed where logp lives.
// Row r's tokens are tokens[offsets[r] .. offsets[r + 1]).
struct OpenTokens {
  std::vector<int64_t> offsets;
  torch::Tensor tokens;
};

OpenTokens open_tokens_per_row(const torch::Tensor& logp, int64_t k) {
  const int64_t kk = std::min(k, logp.size(1));
  torch::Tensor threshold = std::get<0>(logp.topk(kk, 1)).select(1, kk - 1).unsqueeze(1);
  torch::Tensor hits = (logp >= threshold).nonzero().to(torch::kCPU).contiguous();  // [M, 2]
  OpenTokens open;
  open.tokens = hits.select(1, 1).contiguous();
  torch::Tensor counts = torch::bincount(hits.select(1, 0), {}, logp.size(0));
  open.offsets.assign(1, 0);
  const int64_t* c = counts.data_ptr<int64_t>();
  for (int64_t r = 0; r < logp.size(0); ++r) open.offsets.push_back(open.offsets.back() + c[r]);
  return open;
}

// Every case's expansions of its live rows, scored.
struct Expansions {
  std::vector<Candidate> candidates;
  std::vector<int64_t> case_begin;  // candidates of case b: [case_begin[b], case_begin[b + 1])
};

// Renormalises each candidate's new token over the children of its parent's node in the
// catalogue trie (BeamSearchOptions::normaliser) and advances the candidate's normaliser node.
void normalise_over_catalogue(const std::vector<Beam>& rows, const StepScores& scores,
                              const PrefixTrie& normaliser, double weight, Expansions* e) {
  std::vector<int64_t> flat, begin(rows.size() + 1, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    begin[r] = static_cast<int64_t>(flat.size());
    if (!rows[r].alive()) continue;
    auto [first, end] = normaliser.children(rows[r].norm_node);
    for (int64_t c = first; c < end; ++c) flat.push_back(scores.flat(static_cast<int64_t>(r), normaliser.token(c)));
  }
  begin[rows.size()] = static_cast<int64_t>(flat.size());
  const std::vector<float> values = gather_log_probs(scores.values, flat);
  std::vector<double> lse(rows.size(), 0.0);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (begin[r] == begin[r + 1]) continue;
    double m = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t j = begin[r]; j < begin[r + 1]; ++j) m = std::max<double>(m, values[j]);
    for (int64_t j = begin[r]; j < begin[r + 1]; ++j) sum += std::exp(values[j] - m);
    lse[r] = m + std::log(sum);
  }
  for (Candidate& c : e->candidates) {
    c.norm_node = normaliser.child(rows[c.parent].norm_node, c.token);
    GENSAR_CHECK(c.norm_node >= 0, "token {} continues no catalogue identifier (is the case's trie "
                 "a subset of the normaliser?)", c.token);
    c.score -= weight * lse[c.parent];
  }
}

template <typename TrieOf>
Expansions expand(const std::vector<Beam>& rows, int64_t num_cases, int64_t rows_per_case,
                  const StepScores& scores, int64_t vocab, const TrieOf& trie_of,
                  const BeamSearchOptions& options, double weight) {
  OpenTokens open;
  if (!options.constrained) open = open_tokens_per_row(scores.values, options.num_beams);
  Expansions e;
  e.case_begin.resize(num_cases + 1);
  std::vector<int64_t> flat;  // each candidate's position in scores.values
  for (int64_t b = 0; b < num_cases; ++b) {
    e.case_begin[b] = static_cast<int64_t>(e.candidates.size());
    const PrefixTrie* trie = trie_of(b);
    for (int64_t r = b * rows_per_case; r < (b + 1) * rows_per_case; ++r) {
      const Beam& beam = rows[r];
      if (!beam.alive()) continue;
      if (options.constrained) {
        auto [first, end] = trie->children(beam.node);
        for (int64_t c = first; c < end; ++c) {
          const int64_t tok = trie->token(c);
          GENSAR_CHECK(tok < vocab, "trie token {} outside vocabulary {}", tok, vocab);
          e.candidates.push_back({beam.score, r, tok, c});
          flat.push_back(scores.flat(r, tok));
        }
      } else {
        const int64_t* toks = open.tokens.data_ptr<int64_t>();
        for (int64_t j = open.offsets[r]; j < open.offsets[r + 1]; ++j) {
          e.candidates.push_back({beam.score, r, toks[j], -1});
          flat.push_back(scores.flat(r, toks[j]));
        }
      }
    }
  }
  e.case_begin[num_cases] = static_cast<int64_t>(e.candidates.size());
  // The scores come after one gather.
  const std::vector<float> values = gather_log_probs(scores.values, flat);
  for (size_t j = 0; j < e.candidates.size(); ++j) e.candidates[j].score += weight * values[j];
  if (options.normaliser) normalise_over_catalogue(rows, scores, *options.normaliser, weight, &e);
  return e;
}

// The K best expansions of each case become its rows; `parents` says which row each came from
// (for the scorer's reorder) and `last` its token.
struct NextRows {
  std::vector<Beam> rows;
  std::vector<int64_t> parents;
  std::vector<int64_t> last;
};

NextRows select_best(Expansions& e, const std::vector<Beam>& rows, int64_t num_cases,
                     int64_t rows_per_case, int64_t k, bool constrained) {
  NextRows next{std::vector<Beam>(num_cases * k), std::vector<int64_t>(num_cases * k),
                std::vector<int64_t>(num_cases * k, 0)};
  for (int64_t b = 0; b < num_cases; ++b) {
    auto cand_begin = e.candidates.begin() + e.case_begin[b];
    auto cand_end = e.candidates.begin() + e.case_begin[b + 1];
    const int64_t keep = std::min<int64_t>(k, cand_end - cand_begin);
    CandidateOrder order{&rows, constrained};
    std::partial_sort(cand_begin, cand_begin + keep, cand_end, order);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t slot = b * k + j;
      if (j < keep) {
        const Candidate& c = cand_begin[j];
        next.parents[slot] = c.parent;
        next.rows[slot].score = c.score;
        next.rows[slot].node = c.node;
        next.rows[slot].norm_node = c.norm_node;
        next.rows[slot].tokens = rows[c.parent].tokens;
        next.rows[slot].tokens.push_back(c.token);
        next.last[slot] = c.token;
      } else {
        next.parents[slot] = b * rows_per_case;  // a dead row: any row of the case will do
      }
    }
  }
  return next;
}

// The live rows as each case's hypotheses, best first, with the items their identifiers name.
template <typename TrieOf>
BeamSearchResult finished_hypotheses(std::vector<Beam>& rows, int64_t num_cases,
                                     int64_t rows_per_case, const TrieOf& trie_of,
                                     bool constrained) {
  BeamSearchResult result;
  result.cases.resize(num_cases);
  for (int64_t b = 0; b < num_cases; ++b) {
    const PrefixTrie* trie = trie_of(b);
    std::vector<Hypothesis>& out = result.cases[b].beams;
    for (int64_t r = b * rows_per_case; r < (b + 1) * rows_per_case; ++r) {
      Beam& beam = rows[r];
      if (!beam.alive()) continue;
      Hypothesis h;
      h.tokens = std::move(beam.tokens);
      h.score = beam.score;
      const int64_t leaf = constrained ? beam.node
                           : trie       ? trie->find(h.tokens.data())
                                        : -1;
      if (leaf >= 0) {
        auto [first, end] = trie->items(leaf);
        h.items.assign(first, end);
      } else if (trie) {
        ++result.invalid_sequences;
      }
      ++result.returned_sequences;
      out.push_back(std::move(h));
    }
    std::sort(out.begin(), out.end(), [](const Hypothesis& a, const Hypothesis& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.tokens < b.tokens;
    });
  }
  return result;
}

}  // namespace

BeamSearchResult beam_search(Seq2SeqScorer& scorer, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask,
                             const std::vector<const PrefixTrie*>& tries,
                             const BeamSearchOptions& options) {
  const int64_t num_cases = input_ids.size(0);
  const int64_t k = options.num_beams;
  const int64_t id_length = checked_id_length(num_cases, tries, options);
  GENSAR_CHECK(!options.normaliser || (options.constrained && options.normaliser->id_length() == id_length),
               "a normaliser trie needs constrained search over identifiers of its length ({})",
               options.normaliser ? options.normaliser->id_length() : 0);
  auto trie_of = [&](int64_t b) -> const PrefixTrie* {
    if (tries.empty()) return nullptr;
    return tries.size() == 1 ? tries[0] : tries[b];
  };
  const torch::Device device = input_ids.device();
  const int64_t vocab = scorer.vocab_size();

  std::unique_ptr<DecodeState> state = scorer.start(input_ids, attention_mask);
  // One hypothesis per case until the first expansion: starting from K copies would let the same
  // prefix fill several beams.
  std::vector<Beam> rows(num_cases);
  for (Beam& r : rows) {
    r.score = 0;
    r.node = PrefixTrie::kRoot;
    r.norm_node = PrefixTrie::kRoot;
  }
  std::vector<int64_t> last(num_cases, scorer.decoder_start_token());
  for (int64_t forced : options.forced_prefix) {
    GENSAR_CHECK(forced >= 0 && forced < vocab, "forced token {} outside vocabulary {}", forced,
                 vocab);
    const std::vector<float> lp = column_log_probs(step_log_probs(scorer, *state, last, device).values, forced);
    for (int64_t b = 0; b < num_cases; ++b) rows[b].score += lp[b];
    std::fill(last.begin(), last.end(), forced);
  }

  for (int64_t t = 0; t < id_length; ++t) {
    const int64_t rows_per_case = t == 0 ? 1 : k;
    const StepScores scores = options.normaliser
                                  ? step_catalogue_columns(scorer, *state, last, rows, *options.normaliser, device)
                                  : step_log_probs(scorer, *state, last, device);
    const double weight =
        t < static_cast<int64_t>(options.level_weights.size()) ? options.level_weights[t] : 1.0;
    Expansions e = expand(rows, num_cases, rows_per_case, scores, vocab, trie_of, options, weight);
    NextRows next = select_best(e, rows, num_cases, rows_per_case, k, options.constrained);
    scorer.reorder(*state, long_tensor(next.parents, device));
    rows = std::move(next.rows);
    last = std::move(next.last);
  }

  if (options.end_token >= 0) {
    GENSAR_CHECK(options.end_token < vocab, "end token {} outside vocabulary {}", options.end_token,
                 vocab);
    const std::vector<float> lp =
        column_log_probs(step_log_probs(scorer, *state, last, device).values, options.end_token);
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].alive()) rows[r].score += lp[r];
    }
  }
  return finished_hypotheses(rows, num_cases, id_length == 0 ? 1 : k, trie_of,
                             options.constrained);
}

std::vector<std::vector<double>> score_sequences(
    Seq2SeqScorer& scorer, const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
    const std::vector<std::vector<std::vector<int64_t>>>& sequences,
    const std::vector<int64_t>& forced_prefix, int64_t end_token) {
  const int64_t num_cases = input_ids.size(0);
  GENSAR_CHECK(static_cast<int64_t>(sequences.size()) == num_cases, "{} sequence lists for {} cases",
               sequences.size(), num_cases);
  const torch::Device device = input_ids.device();
  const int64_t vocab = scorer.vocab_size();
  std::vector<std::vector<double>> scores(num_cases);
  std::vector<int64_t> parents;
  std::vector<const std::vector<int64_t>*> row_seq;
  int64_t length = -1;
  for (int64_t b = 0; b < num_cases; ++b) {
    scores[b].assign(sequences[b].size(), 0.0);
    for (const auto& s : sequences[b]) {
      GENSAR_CHECK(length < 0 || static_cast<int64_t>(s.size()) == length,
                   "sequences must share one length ({} vs {})", s.size(), length);
      length = static_cast<int64_t>(s.size());
      parents.push_back(b);
      row_seq.push_back(&s);
    }
  }
  if (parents.empty()) return scores;

  std::unique_ptr<DecodeState> state = scorer.start(input_ids, attention_mask);
  scorer.reorder(*state, long_tensor(parents, device));
  const int64_t n = static_cast<int64_t>(parents.size());
  std::vector<double> total(n, 0.0);
  std::vector<int64_t> last(n, scorer.decoder_start_token());
  auto feed = [&](auto&& token_of_row) {
    const StepScores logp = step_log_probs(scorer, *state, last, device);
    std::vector<int64_t> flat(n);
    for (int64_t r = 0; r < n; ++r) {
      const int64_t tok = token_of_row(r);
      GENSAR_CHECK(tok >= 0 && tok < vocab, "token {} outside vocabulary {}", tok, vocab);
      flat[r] = logp.flat(r, tok);
      last[r] = tok;
    }
    const std::vector<float> values = gather_log_probs(logp.values, flat);
    for (int64_t r = 0; r < n; ++r) total[r] += values[r];
  };
  for (int64_t forced : forced_prefix) feed([&](int64_t) { return forced; });
  for (int64_t t = 0; t < length; ++t) feed([&](int64_t r) { return (*row_seq[r])[t]; });
  if (end_token >= 0) feed([&](int64_t) { return end_token; });

  int64_t r = 0;
  for (int64_t b = 0; b < num_cases; ++b) {
    for (double& s : scores[b]) s = total[r++];
  }
  return scores;
}

}  // namespace gensar::decoding
