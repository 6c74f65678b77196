// Constrained beam search against brute force: validity, exhaustive equality with a beam as wide as
// the catalogue, deduplication and deterministic tie-breaking.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/decoding/beam_search.h"
#include "tests/support/toy_scorer.h"

namespace gensar::decoding {
namespace {

using Seq = std::vector<int64_t>;

constexpr int64_t kVocab = 40;
constexpr int64_t kFirstCode = 4;  // tokens 0..3: start, task token, end, spare

struct Cases {
  torch::Tensor input_ids, attention_mask;
};

Cases random_inputs(int64_t num_cases, int64_t length, uint64_t seed) {
  torch::manual_seed(seed);
  Cases c;
  c.input_ids = torch::randint(0, kVocab, {num_cases, length}, torch::kLong);
  c.attention_mask = torch::ones({num_cases, length}, torch::kLong);
  // Ragged inputs: case b keeps length - (b % 3) real tokens.
  for (int64_t b = 0; b < num_cases; ++b)
    for (int64_t s = length - (b % 3); s < length; ++s) c.attention_mask[b][s] = 0;
  return c;
}

// n distinct random identifiers of length len over the code tokens.
std::vector<Seq> random_ids(int64_t n, int64_t len, std::mt19937_64& rng) {
  std::set<Seq> seen;
  std::vector<Seq> out;
  while (static_cast<int64_t>(out.size()) < n) {
    Seq s(len);
    for (int64_t& t : s) t = kFirstCode + static_cast<int64_t>(rng() % (kVocab - kFirstCode));
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

std::vector<int64_t> flatten(const std::vector<Seq>& seqs) {
  std::vector<int64_t> out;
  for (const Seq& s : seqs) out.insert(out.end(), s.begin(), s.end());
  return out;
}

void expect_ranked(const CaseBeams& c) {
  for (size_t i = 1; i < c.beams.size(); ++i) {
    const Hypothesis& a = c.beams[i - 1];
    const Hypothesis& b = c.beams[i];
    EXPECT_TRUE(a.score > b.score || (a.score == b.score && a.tokens < b.tokens));
  }
}

TEST(BeamSearch, OnlyValidIdentifiersComeOutPerCaseTries) {
  std::mt19937_64 rng(11);
  const int64_t num_cases = 48, len = 4, beams = 10;
  ToyScorer scorer(kVocab, 32, 3);
  Cases in = random_inputs(num_cases, 9, 5);
  std::vector<std::vector<Seq>> ids(num_cases);
  std::vector<PrefixTrie> tries;
  for (int64_t b = 0; b < num_cases; ++b) {
    ids[b] = random_ids(100, len, rng);
    std::vector<int64_t> items(100);
    for (int64_t i = 0; i < 100; ++i) items[i] = b * 1000 + i;
    tries.push_back(PrefixTrie::build(flatten(ids[b]), len, items));
  }
  std::vector<const PrefixTrie*> trie_ptrs;
  for (const PrefixTrie& t : tries) trie_ptrs.push_back(&t);
  BeamSearchOptions opt;
  opt.num_beams = beams;
  opt.forced_prefix = {1};
  BeamSearchResult r = beam_search(scorer, in.input_ids, in.attention_mask, trie_ptrs, opt);
  ASSERT_EQ(static_cast<int64_t>(r.cases.size()), num_cases);
  EXPECT_EQ(r.invalid_sequences, 0);
  EXPECT_EQ(r.returned_sequences, num_cases * beams);
  EXPECT_EQ(scorer.steps_taken, 1 + len);  // one forced step, then one per identifier token
  for (int64_t b = 0; b < num_cases; ++b) {
    const CaseBeams& c = r.cases[b];
    ASSERT_EQ(static_cast<int64_t>(c.beams.size()), beams);
    std::set<Seq> distinct;
    for (const Hypothesis& h : c.beams) {
      auto it = std::find(ids[b].begin(), ids[b].end(), h.tokens);
      ASSERT_NE(it, ids[b].end()) << "case " << b << " produced an identifier outside its trie";
      ASSERT_EQ(h.items.size(), 1u);
      EXPECT_EQ(h.items[0], b * 1000 + (it - ids[b].begin()));
      distinct.insert(h.tokens);
    }
    EXPECT_EQ(static_cast<int64_t>(distinct.size()), beams);  // deduplicated
    expect_ranked(c);
    EXPECT_EQ(static_cast<int64_t>(c.ranked_items().size()), beams);
  }
}

TEST(BeamSearch, SharedTrieAndFewerIdentifiersThanBeams) {
  std::mt19937_64 rng(12);
  ToyScorer scorer(kVocab, 16, 4);
  Cases in = random_inputs(5, 6, 6);
  std::vector<Seq> ids = random_ids(3, 3, rng);
  PrefixTrie trie = PrefixTrie::build(flatten(ids), 3);
  BeamSearchOptions opt;
  opt.num_beams = 8;
  BeamSearchResult r = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  for (const CaseBeams& c : r.cases) {
    ASSERT_EQ(c.beams.size(), 3u);  // every identifier once, no padding beams
    std::set<Seq> got;
    for (const Hypothesis& h : c.beams) got.insert(h.tokens);
    EXPECT_EQ(got, std::set<Seq>(ids.begin(), ids.end()));
    expect_ranked(c);
  }
}

// With as many beams as identifiers, nothing is pruned: the ranking must equal scoring every item
// by teacher forcing. Exercises reorder (the toy state depends on the whole prefix).
TEST(BeamSearch, FullWidthBeamEqualsExhaustiveScoring) {
  std::mt19937_64 rng(13);
  const int64_t num_cases = 6, len = 3, catalogue = 60;
  ToyScorer scorer(kVocab, 24, 9, /*gain=*/2.0);
  Cases in = random_inputs(num_cases, 7, 8);
  std::vector<std::vector<Seq>> ids(num_cases);
  std::vector<PrefixTrie> tries;
  for (int64_t b = 0; b < num_cases; ++b) {
    ids[b] = random_ids(catalogue, len, rng);
    tries.push_back(PrefixTrie::build(flatten(ids[b]), len));
  }
  std::vector<const PrefixTrie*> trie_ptrs;
  for (const PrefixTrie& t : tries) trie_ptrs.push_back(&t);
  for (int64_t end_token : {-1, 2}) {
    BeamSearchOptions opt;
    opt.num_beams = catalogue;
    opt.forced_prefix = {1};
    opt.end_token = end_token;
    BeamSearchResult r = beam_search(scorer, in.input_ids, in.attention_mask, trie_ptrs, opt);
    auto exact = score_sequences(scorer, in.input_ids, in.attention_mask, ids, {1}, end_token);
    for (int64_t b = 0; b < num_cases; ++b) {
      std::vector<int64_t> order(catalogue);
      for (int64_t i = 0; i < catalogue; ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
        return exact[b][x] > exact[b][y];
      });
      const CaseBeams& c = r.cases[b];
      ASSERT_EQ(static_cast<int64_t>(c.beams.size()), catalogue);
      for (int64_t i = 0; i < catalogue; ++i) {
        const int64_t item = c.beams[i].items.at(0);
        EXPECT_EQ(c.beams[i].tokens, ids[b][item]);
        EXPECT_NEAR(c.beams[i].score, exact[b][item], 1e-4);    // the beam's own sequence score
        EXPECT_NEAR(c.beams[i].score, exact[b][order[i]], 1e-4);  // rank i holds the i-th best
      }
      // The top of the ranking is the exhaustive best unless the two are numerically tied.
      if (exact[b][order[0]] - exact[b][order[1]] > 1e-4) {
        EXPECT_EQ(c.beams[0].items[0], order[0]);
      }
    }
  }
}

// A scorer whose every next-token distribution is uniform: all sequences tie, so the result is
// decided by the tie-break alone (lexicographically smallest identifiers first).
class UniformScorer : public Seq2SeqScorer {
 public:
  struct State : DecodeState {
    int64_t rows;
  };
  std::unique_ptr<DecodeState> start(const torch::Tensor& ids, const torch::Tensor&) override {
    auto s = std::make_unique<State>();
    s->rows = ids.size(0);
    return s;
  }
  torch::Tensor step(DecodeState& state, const torch::Tensor& last) override {
    return torch::log_softmax(torch::zeros({last.size(0), kVocab}), 1);
  }
  void reorder(DecodeState& state, const torch::Tensor& index) override {
    static_cast<State&>(state).rows = index.size(0);
  }
  int64_t decoder_start_token() const override { return 0; }
  int64_t vocab_size() const override { return kVocab; }
};

TEST(BeamSearch, TiesBreakLexicographicallyAndDeterministically) {
  std::mt19937_64 rng(14);
  UniformScorer scorer;
  Cases in = random_inputs(3, 4, 9);
  std::vector<Seq> ids = random_ids(50, 3, rng);
  PrefixTrie trie = PrefixTrie::build(flatten(ids), 3);
  std::vector<Seq> sorted = ids;
  std::sort(sorted.begin(), sorted.end());

  BeamSearchOptions opt;
  opt.num_beams = 7;
  BeamSearchResult first = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  BeamSearchResult second = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  for (size_t b = 0; b < first.cases.size(); ++b) {
    ASSERT_EQ(first.cases[b].beams.size(), 7u);
    for (size_t i = 0; i < 7; ++i) {
      // Beam search with ties keeps the smallest prefixes at each depth; the smallest 7 full
      // identifiers descend from them, so they are exactly what comes out.
      EXPECT_EQ(first.cases[b].beams[i].tokens, sorted[i]);
      EXPECT_EQ(first.cases[b].beams[i].tokens, second.cases[b].beams[i].tokens);
    }
  }

  // Unconstrained: the 5 smallest sequences over the whole vocabulary.
  opt.constrained = false;
  opt.num_beams = 5;
  BeamSearchResult open = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  const std::vector<Seq> smallest = {{0, 0, 0}, {0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {0, 0, 4}};
  for (const CaseBeams& c : open.cases) {
    ASSERT_EQ(c.beams.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(c.beams[i].tokens, smallest[i]);
  }
  EXPECT_EQ(open.invalid_sequences, open.returned_sequences);  // codes start at 4: none valid
  EXPECT_DOUBLE_EQ(open.invalid_rate(), 1.0);
}

TEST(BeamSearch, UnconstrainedReportsInvalidRateAndIsExhaustiveWhenWide) {
  // Vocabulary small enough that a beam of V^L covers every sequence.
  const int64_t vocab = 6, len = 3, all = vocab * vocab * vocab;
  ToyScorer scorer(vocab, 16, 21, /*gain=*/2.5);
  torch::manual_seed(3);
  torch::Tensor input = torch::randint(0, vocab, {4, 5}, torch::kLong);
  torch::Tensor mask = torch::ones({4, 5}, torch::kLong);
  // Valid identifiers: the sequences whose tokens sum to an even number.
  std::vector<Seq> valid, every;
  for (int64_t x = 0; x < vocab; ++x)
    for (int64_t y = 0; y < vocab; ++y)
      for (int64_t z = 0; z < vocab; ++z) {
        every.push_back({x, y, z});
        if ((x + y + z) % 2 == 0) valid.push_back({x, y, z});
      }
  PrefixTrie trie = PrefixTrie::build(flatten(valid), len);
  std::set<Seq> valid_set(valid.begin(), valid.end());

  BeamSearchOptions opt;
  opt.constrained = false;
  opt.num_beams = 8;
  BeamSearchResult narrow = beam_search(scorer, input, mask, {&trie}, opt);
  int64_t invalid = 0;
  for (const CaseBeams& c : narrow.cases) {
    ASSERT_EQ(c.beams.size(), 8u);
    for (const Hypothesis& h : c.beams) {
      const bool ok = valid_set.count(h.tokens) > 0;
      invalid += !ok;
      EXPECT_EQ(h.items.empty(), !ok);
    }
  }
  EXPECT_EQ(narrow.invalid_sequences, invalid);
  EXPECT_EQ(narrow.returned_sequences, 4 * 8);

  opt.num_beams = all;
  BeamSearchResult wide = beam_search(scorer, input, mask, {&trie}, opt);
  std::vector<std::vector<Seq>> per_case(4, every);
  auto exact = score_sequences(scorer, input, mask, per_case);
  for (int64_t b = 0; b < 4; ++b) {
    std::vector<double> sorted = exact[b];
    std::sort(sorted.rbegin(), sorted.rend());
    ASSERT_EQ(static_cast<int64_t>(wide.cases[b].beams.size()), all);
    for (int64_t i = 0; i < all; ++i) {
      const Seq& t = wide.cases[b].beams[i].tokens;
      const int64_t index = (t[0] * vocab + t[1]) * vocab + t[2];
      EXPECT_NEAR(wide.cases[b].beams[i].score, exact[b][index], 1e-4);
      EXPECT_NEAR(wide.cases[b].beams[i].score, sorted[i], 1e-4);
    }
  }
  EXPECT_EQ(wide.invalid_sequences, 4 * (all - static_cast<int64_t>(valid.size())));
}

TEST(BeamSearch, ConstrainedNeedsATrie) {
  ToyScorer scorer(kVocab, 8, 1);
  Cases in = random_inputs(2, 3, 1);
  EXPECT_THROW(beam_search(scorer, in.input_ids, in.attention_mask, {}, BeamSearchOptions{}),
               std::exception);
}

}  // namespace

// Catalogue-normalised scoring (--id-softmax catalogue): with a full-width beam over the catalogue
// the item probabilities sum to one, and a case trie over a subset of the catalogue gives its items
// exactly the scores they get in the catalogue-wide search.
TEST(BeamSearch, CatalogueNormaliserMakesAnItemDistribution) {
  std::mt19937_64 rng(21);
  const int64_t num_cases = 4, len = 3, catalogue = 50;
  ToyScorer scorer(kVocab, 24, 17, /*gain=*/2.0);
  Cases in = random_inputs(num_cases, 7, 9);
  const std::vector<Seq> ids = random_ids(catalogue, len, rng);
  const PrefixTrie full = PrefixTrie::build(flatten(ids), len);
  BeamSearchOptions opt;
  opt.num_beams = catalogue;
  opt.forced_prefix = {1};
  opt.normaliser = &full;
  BeamSearchResult all = beam_search(scorer, in.input_ids, in.attention_mask, {&full}, opt);
  std::vector<std::map<Seq, double>> score_of(num_cases);
  for (int64_t b = 0; b < num_cases; ++b) {
    ASSERT_EQ(static_cast<int64_t>(all.cases[b].beams.size()), catalogue);
    // Scores include the forced token's log-prob (the same for every beam): take it out.
    const double forced = score_sequences(scorer, in.input_ids.slice(0, b, b + 1),
                                          in.attention_mask.slice(0, b, b + 1), {{Seq{}}}, {1})[0][0];
    double total = 0;
    for (const Hypothesis& h : all.cases[b].beams) {
      total += std::exp(h.score - forced);
      score_of[b][h.tokens] = h.score;
    }
    EXPECT_NEAR(total, 1.0, 1e-4) << "case " << b;
  }
  // A subset trie (every third identifier) with the same normaliser: same scores per identifier.
  std::vector<Seq> subset;
  for (int64_t i = 0; i < catalogue; i += 3) subset.push_back(ids[i]);
  const PrefixTrie part = PrefixTrie::build(flatten(subset), len);
  opt.num_beams = static_cast<int64_t>(subset.size());
  BeamSearchResult some = beam_search(scorer, in.input_ids, in.attention_mask, {&part}, opt);
  for (int64_t b = 0; b < num_cases; ++b) {
    ASSERT_EQ(some.cases[b].beams.size(), subset.size());
    for (const Hypothesis& h : some.cases[b].beams)
      EXPECT_NEAR(h.score, score_of[b].at(h.tokens), 1e-5);
  }
  // Without the normaliser the same identifiers score lower (the vocabulary softmax leaks mass).
  opt.normaliser = nullptr;
  BeamSearchResult plain = beam_search(scorer, in.input_ids, in.attention_mask, {&part}, opt);
  for (int64_t b = 0; b < num_cases; ++b)
    for (const Hypothesis& h : plain.cases[b].beams) EXPECT_LT(h.score, score_of[b].at(h.tokens));
}

// Level weights: each level's log-prob counts w_t times in the sequence score, so a full-width
// search must rank by sum_t w_t log p(c_t | c_<t) from teacher forcing, prefix by prefix; weights
// of 1 are the plain search, and bad weights are refused.
TEST(BeamSearch, LevelWeightsScaleEachLevelsLogProb) {
  std::mt19937_64 rng(29);
  const int64_t num_cases = 3, len = 3, catalogue = 40;
  ToyScorer scorer(kVocab, 24, 23, /*gain=*/2.0);
  Cases in = random_inputs(num_cases, 6, 10);
  const std::vector<Seq> ids = random_ids(catalogue, len, rng);
  const PrefixTrie trie = PrefixTrie::build(flatten(ids), len);
  // prefix_score[p][b][i]: the forced token plus the first p codes of identifier i.
  std::vector<std::vector<std::vector<double>>> prefix_score;
  for (int64_t p = 0; p <= len; ++p) {
    std::vector<std::vector<Seq>> prefixes(num_cases);
    for (int64_t b = 0; b < num_cases; ++b)
      for (const Seq& s : ids) prefixes[b].push_back(Seq(s.begin(), s.begin() + p));
    prefix_score.push_back(score_sequences(scorer, in.input_ids, in.attention_mask, prefixes, {1}));
  }
  const std::vector<double> weights = {0.5, 2.0};  // level 2 weighs 1
  BeamSearchOptions opt;
  opt.num_beams = catalogue;
  opt.forced_prefix = {1};
  opt.level_weights = weights;
  BeamSearchResult r = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  for (int64_t b = 0; b < num_cases; ++b) {
    std::vector<double> expected(catalogue);
    for (int64_t i = 0; i < catalogue; ++i) {
      expected[i] = prefix_score[0][b][i];
      for (int64_t t = 0; t < len; ++t)
        expected[i] += (t < 2 ? weights[t] : 1.0) * (prefix_score[t + 1][b][i] - prefix_score[t][b][i]);
    }
    std::vector<double> sorted = expected;
    std::sort(sorted.rbegin(), sorted.rend());
    const CaseBeams& c = r.cases[b];
    ASSERT_EQ(static_cast<int64_t>(c.beams.size()), catalogue);
    for (int64_t i = 0; i < catalogue; ++i) {
      EXPECT_NEAR(c.beams[i].score, expected[c.beams[i].items.at(0)], 1e-4);
      EXPECT_NEAR(c.beams[i].score, sorted[i], 1e-4);
    }
  }
  // All-ones weights are the unweighted search, bit for bit.
  opt.level_weights = {1.0, 1.0, 1.0};
  BeamSearchResult ones = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  opt.level_weights.clear();
  BeamSearchResult plain = beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt);
  for (int64_t b = 0; b < num_cases; ++b)
    for (size_t i = 0; i < plain.cases[b].beams.size(); ++i) {
      EXPECT_EQ(ones.cases[b].beams[i].tokens, plain.cases[b].beams[i].tokens);
      EXPECT_EQ(ones.cases[b].beams[i].score, plain.cases[b].beams[i].score);
    }
  opt.level_weights = {1.0, 1.0, 1.0, 1.0};
  EXPECT_THROW(beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt), std::exception);
  opt.level_weights = {1.0, 0.0};
  EXPECT_THROW(beam_search(scorer, in.input_ids, in.attention_mask, {&trie}, opt), std::exception);
}

}  // namespace gensar::decoding
