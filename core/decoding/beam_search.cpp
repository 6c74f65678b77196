#include "core/decoding/beam_search.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "core/common/check.h"

namespace gensar::decoding {
namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();

// One live or dead hypothesis row of the decoder state.
struct Beam {
  double score = kDead;
  int64_t node = -1;  // trie node (constrained search)
  std::vector<int64_t> tokens;
  bool alive() const { return score != kDead; }
};

struct Candidate {
  double score;
  int64_t parent;  // row in the current state
  int64_t token;
  int64_t node;  // trie node after the token, or -1
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

torch::Tensor step_log_probs(Seq2SeqScorer& scorer, DecodeState& state,
                             const std::vector<int64_t>& last, const torch::Device& device) {
  torch::Tensor logp = scorer.step(state, long_tensor(last, device));
  GENSAR_CHECK(logp.dim() == 2 && logp.size(0) == static_cast<int64_t>(last.size()),
               "scorer.step returned a {}-dim tensor with {} rows for {} rows", logp.dim(),
               logp.dim() > 0 ? logp.size(0) : 0, last.size());
  return logp.to(torch::kCPU, torch::kFloat).contiguous();
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

BeamSearchResult beam_search(Seq2SeqScorer& scorer, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask,
                             const std::vector<const PrefixTrie*>& tries,
                             const BeamSearchOptions& options) {
  const int64_t num_cases = input_ids.size(0);
  const int64_t k = options.num_beams;
  GENSAR_CHECK(k > 0, "num_beams must be positive, got {}", k);
  GENSAR_CHECK(tries.empty() || tries.size() == 1 || static_cast<int64_t>(tries.size()) == num_cases,
               "{} tries for {} cases (need 1 shared or 1 per case)", tries.size(), num_cases);
  GENSAR_CHECK(!options.constrained || !tries.empty(), "constrained beam search needs a trie");
  for (const PrefixTrie* t : tries) GENSAR_CHECK(t != nullptr, "null trie");
  const int64_t id_length = options.id_length > 0 ? options.id_length : tries.at(0)->id_length();
  for (const PrefixTrie* t : tries) {
    GENSAR_CHECK(t->id_length() == id_length, "trie id length {} differs from {}",
                 t->id_length(), id_length);
  }
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
  }
  std::vector<int64_t> last(num_cases, scorer.decoder_start_token());
  for (int64_t forced : options.forced_prefix) {
    GENSAR_CHECK(forced >= 0 && forced < vocab, "forced token {} outside vocabulary {}", forced,
                 vocab);
    torch::Tensor logp = step_log_probs(scorer, *state, last, device);
    const float* lp = logp.data_ptr<float>();
    for (int64_t b = 0; b < num_cases; ++b) rows[b].score += lp[b * vocab + forced];
    std::fill(last.begin(), last.end(), forced);
  }

  std::vector<Candidate> candidates;
  for (int64_t t = 0; t < id_length; ++t) {
    const int64_t rows_per_case = t == 0 ? 1 : k;
    torch::Tensor logp = step_log_probs(scorer, *state, last, device);
    GENSAR_CHECK(logp.size(1) == vocab, "scorer returned {} log-probs, vocab is {}", logp.size(1),
                 vocab);
    const float* lp = logp.data_ptr<float>();
    // Unconstrained: per row, every token scoring at least the row's K-th best can make the
    // case's top K; taking all ties keeps the choice deterministic.
    torch::Tensor open_tokens;
    std::vector<int64_t> open_offsets;
    if (!options.constrained) {
      const int64_t kk = std::min(k, vocab);
      torch::Tensor threshold = std::get<0>(logp.topk(kk, 1)).select(1, kk - 1).unsqueeze(1);
      torch::Tensor hits = (logp >= threshold).nonzero().contiguous();  // [M, 2], row-major order
      open_tokens = hits.select(1, 1).contiguous();
      torch::Tensor counts = torch::bincount(hits.select(1, 0), {}, logp.size(0));
      open_offsets.assign(1, 0);
      const int64_t* c = counts.data_ptr<int64_t>();
      for (int64_t r = 0; r < logp.size(0); ++r) open_offsets.push_back(open_offsets.back() + c[r]);
    }

    std::vector<Beam> next(num_cases * k);
    std::vector<int64_t> parents(num_cases * k);
    std::vector<int64_t> next_last(num_cases * k, 0);
    for (int64_t b = 0; b < num_cases; ++b) {
      const PrefixTrie* trie = trie_of(b);
      candidates.clear();
      for (int64_t r = b * rows_per_case; r < (b + 1) * rows_per_case; ++r) {
        const Beam& beam = rows[r];
        if (!beam.alive()) continue;
        const float* row_lp = lp + r * vocab;
        if (options.constrained) {
          auto [first, end] = trie->children(beam.node);
          for (int64_t c = first; c < end; ++c) {
            const int64_t tok = trie->token(c);
            GENSAR_CHECK(tok < vocab, "trie token {} outside vocabulary {}", tok, vocab);
            candidates.push_back({beam.score + row_lp[tok], r, tok, c});
          }
        } else {
          const int64_t* toks = open_tokens.data_ptr<int64_t>();
          for (int64_t j = open_offsets[r]; j < open_offsets[r + 1]; ++j) {
            candidates.push_back({beam.score + row_lp[toks[j]], r, toks[j], -1});
          }
        }
      }
      const int64_t keep = std::min<int64_t>(k, candidates.size());
      CandidateOrder order{&rows, options.constrained};
      std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), order);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t slot = b * k + j;
        if (j < keep) {
          const Candidate& c = candidates[j];
          parents[slot] = c.parent;
          next[slot].score = c.score;
          next[slot].node = c.node;
          next[slot].tokens = rows[c.parent].tokens;
          next[slot].tokens.push_back(c.token);
          next_last[slot] = c.token;
        } else {
          parents[slot] = b * rows_per_case;  // a dead row: any row of the case will do
        }
      }
    }
    scorer.reorder(*state, long_tensor(parents, device));
    rows = std::move(next);
    last = std::move(next_last);
  }

  if (options.end_token >= 0) {
    GENSAR_CHECK(options.end_token < vocab, "end token {} outside vocabulary {}", options.end_token,
                 vocab);
    torch::Tensor logp = step_log_probs(scorer, *state, last, device);
    const float* lp = logp.data_ptr<float>();
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].alive()) rows[r].score += lp[r * vocab + options.end_token];
    }
  }

  BeamSearchResult result;
  result.cases.resize(num_cases);
  const int64_t final_rows_per_case = id_length == 0 ? 1 : k;
  for (int64_t b = 0; b < num_cases; ++b) {
    const PrefixTrie* trie = trie_of(b);
    std::vector<Hypothesis>& out = result.cases[b].beams;
    for (int64_t r = b * final_rows_per_case; r < (b + 1) * final_rows_per_case; ++r) {
      Beam& beam = rows[r];
      if (!beam.alive()) continue;
      Hypothesis h;
      h.tokens = std::move(beam.tokens);
      h.score = beam.score;
      const int64_t leaf = options.constrained ? beam.node
                           : trie               ? trie->find(h.tokens.data())
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
    torch::Tensor logp = step_log_probs(scorer, *state, last, device);
    const float* lp = logp.data_ptr<float>();
    for (int64_t r = 0; r < n; ++r) {
      const int64_t tok = token_of_row(r);
      GENSAR_CHECK(tok >= 0 && tok < vocab, "token {} outside vocabulary {}", tok, vocab);
      total[r] += lp[r * vocab + tok];
      last[r] = tok;
    }
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
