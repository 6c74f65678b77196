// Decoding benchmark: trie build time, beam-search time per step against beam width and output
// length, and evaluation throughput (cases/s) with per-case tries (paper protocol, 100 candidates)
// vs one catalogue trie (full ranking) vs unconstrained search. The baseline in each row is the
// scorer alone doing the same number of steps on the same rows, so "overhead" is what the search
// (trie walk, selection, bookkeeping) adds. Scorers: the toy scorer, and the TIGER-size T5 with
// random weights when gensar_model was built.
//
// Usage: bench_decoding [--quick]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

#include "core/decoding/beam_search.h"
#include "tests/support/toy_scorer.h"
#ifdef GENSAR_BENCH_WITH_T5
#include "core/model/t5_scorer.h"
#endif

using namespace gensar::decoding;

namespace {

constexpr int64_t kCodeTokens = 1024;  // identifier tokens; each of the L levels gets 1024 / L
constexpr int64_t kFirstCode = 16;     // tokens below are specials (start, task tokens, end)
constexpr int64_t kIdVocab = kFirstCode + kCodeTokens;
constexpr int64_t kTaskToken = 3;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double time_it(const std::function<void()>& fn, int repeats) {
  fn();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) fn();
  return seconds_since(t0) / repeats;
}

std::vector<int64_t> random_catalogue(int64_t n, int64_t len, std::mt19937_64& rng) {
  // Level d uses its own token range (like <a_i><b_j><c_k><d_l>), 256 codes per level at L = 4.
  const int64_t codes = kCodeTokens / len;
  std::vector<int64_t> tokens(n * len);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < len; ++d)
      tokens[i * len + d] = kFirstCode + d * codes + static_cast<int64_t>(rng() % codes);
  return tokens;
}

struct Inputs {
  torch::Tensor ids, mask;
};

Inputs random_inputs(int64_t cases, int64_t length, int64_t vocab) {
  return {torch::randint(kFirstCode, vocab, {cases, length}, torch::kLong),
          torch::ones({cases, length}, torch::kLong)};
}

// The scorer alone: encode, expand to cases*beams rows, then `steps` incremental steps.
void scorer_only(Seq2SeqScorer& scorer, const Inputs& in, int64_t beams, int64_t steps) {
  auto state = scorer.start(in.ids, in.mask);
  const int64_t rows = in.ids.size(0);
  torch::Tensor last = torch::full({rows}, scorer.decoder_start_token(), torch::kLong);
  scorer.step(*state, last);
  scorer.reorder(*state, torch::arange(rows, torch::kLong).repeat_interleave(beams));
  last = torch::full({rows * beams}, kFirstCode, torch::kLong);
  for (int64_t s = 1; s < steps; ++s) {
    scorer.step(*state, last);
    scorer.reorder(*state, torch::arange(rows * beams, torch::kLong));
  }
}

void bench_trie_build(bool quick) {
  std::mt19937_64 rng(1);
  const int64_t n = quick ? 100000 : 1000000;
  std::vector<int64_t> catalogue = random_catalogue(n, 4, rng);
  auto t0 = std::chrono::steady_clock::now();
  PrefixTrie trie = PrefixTrie::build(catalogue, 4);
  const double catalogue_s = seconds_since(t0);
  std::printf("trie build: catalogue of %lld items x 4 tokens: %.1f ms (%lld nodes, %lld shared "
              "leaves)\n",
              static_cast<long long>(n), catalogue_s * 1e3,
              static_cast<long long>(trie.num_nodes()),
              static_cast<long long>(trie.num_shared_leaves()));
  const int64_t tries = 2000;
  std::vector<std::vector<int64_t>> candidates(tries);
  for (auto& c : candidates) c = random_catalogue(100, 4, rng);
  t0 = std::chrono::steady_clock::now();
  int64_t nodes = 0;
  for (const auto& c : candidates) nodes += PrefixTrie::build(c, 4).num_nodes();
  std::printf("trie build: per-case trie of 100 candidates: %.1f us each (%lld nodes total)\n\n",
              seconds_since(t0) / tries * 1e6, static_cast<long long>(nodes));
}

void bench_step_time(const char* name, Seq2SeqScorer& scorer, int64_t vocab, int64_t cases,
                     int64_t input_length, const std::vector<int64_t>& lengths, bool quick) {
  std::printf("[%s] time per decoding step, %lld cases, catalogue trie of %d items, input %lld "
              "tokens (1 forced task token + L identifier steps)\n",
              name, static_cast<long long>(cases), quick ? 20000 : 100000,
              static_cast<long long>(input_length));
  std::printf("%6s %4s %14s %16s %10s\n", "beams", "L", "search ms/step", "scorer ms/step",
              "overhead");
  std::mt19937_64 rng(2);
  torch::manual_seed(2);
  Inputs in = random_inputs(cases, input_length, vocab);
  for (int64_t len : lengths) {
    PrefixTrie trie = PrefixTrie::build(random_catalogue(quick ? 20000 : 100000, len, rng), len);
    for (int64_t beams : {10, 30, 50}) {
      BeamSearchOptions opt;
      opt.num_beams = beams;
      opt.forced_prefix = {kTaskToken};
      const int repeats = quick ? 1 : 3;
      const double search = time_it([&] { beam_search(scorer, in.ids, in.mask, {&trie}, opt); },
                                    repeats);
      const double alone = time_it([&] { scorer_only(scorer, in, beams, len + 1); }, repeats);
      std::printf("%6lld %4lld %14.2f %16.2f %9.2fx\n", static_cast<long long>(beams),
                  static_cast<long long>(len), search / (len + 1) * 1e3,
                  alone / (len + 1) * 1e3, search / alone);
    }
  }
  std::printf("\n");
}

void bench_throughput(const char* name, Seq2SeqScorer& scorer, int64_t vocab, int64_t input_length,
                      int64_t cases, bool quick) {
  const int64_t beams = 30, len = 4, batches = quick ? 1 : 3;
  const int64_t catalogue_size = quick ? 100000 : 1000000;
  std::mt19937_64 rng(3);
  torch::manual_seed(3);
  Inputs in = random_inputs(cases, input_length, vocab);
  PrefixTrie catalogue = PrefixTrie::build(random_catalogue(catalogue_size, len, rng), len);
  std::vector<std::vector<int64_t>> candidates(cases);
  for (auto& c : candidates) c = random_catalogue(100, len, rng);
  BeamSearchOptions opt;
  opt.num_beams = beams;
  opt.forced_prefix = {kTaskToken};

  auto per_case = [&] {
    // Eval builds the tries of each batch from its cases' candidates: included in the time.
    std::vector<PrefixTrie> tries;
    tries.reserve(cases);
    for (const auto& c : candidates) tries.push_back(PrefixTrie::build(c, len));
    std::vector<const PrefixTrie*> ptrs;
    for (const auto& t : tries) ptrs.push_back(&t);
    beam_search(scorer, in.ids, in.mask, ptrs, opt);
  };
  auto full = [&] { beam_search(scorer, in.ids, in.mask, {&catalogue}, opt); };
  BeamSearchOptions open = opt;
  open.constrained = false;
  auto unconstrained = [&] { beam_search(scorer, in.ids, in.mask, {&catalogue}, open); };
  auto alone = [&] { scorer_only(scorer, in, beams, len + 1); };

  const double t_alone = time_it(alone, batches);
  std::printf("[%s] evaluation throughput, %lld beams, batches of %lld cases, input %lld tokens\n",
              name, static_cast<long long>(beams), static_cast<long long>(cases),
              static_cast<long long>(input_length));
  std::printf("%-44s %10s %12s\n", "mode", "cases/s", "vs scorer");
  auto row = [&](const char* mode, double t) {
    std::printf("%-44s %10.1f %11.2fx\n", mode, cases / t, t / t_alone);
  };
  row("scorer alone (baseline, no search)", t_alone);
  row("per-case tries (100 candidates, built here)", time_it(per_case, batches));
  char label[96];
  std::snprintf(label, sizeof(label), "catalogue trie (%lld items)",
                static_cast<long long>(catalogue_size));
  row(label, time_it(full, batches));
  BeamSearchResult r = beam_search(scorer, in.ids, in.mask, {&catalogue}, open);
  std::snprintf(label, sizeof(label), "unconstrained (invalid-ID rate %.3f)", r.invalid_rate());
  row(label, time_it(unconstrained, batches));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  torch::NoGradGuard no_grad;
  at::set_num_threads(1);
  std::printf("bench_decoding: torch %s, %d intra-op thread%s%s\n\n", TORCH_VERSION,
              at::get_num_threads(), at::get_num_threads() == 1 ? "" : "s",
              quick ? ", --quick sizes" : "");
  bench_trie_build(quick);

  const int64_t toy_vocab = kIdVocab;
  ToyScorer toy(toy_vocab, 128, 7, 3.0, 32);
  bench_step_time("toy scorer, hidden 128", toy, toy_vocab, 16, 32, {4, 8, 16}, quick);
  bench_throughput("toy scorer, hidden 128", toy, toy_vocab, 32, 64, quick);

#ifdef GENSAR_BENCH_WITH_T5
  // Text vocabulary 2048 + the identifier tokens (the real run has an 8k SentencePiece model).
  const int64_t t5_vocab = kIdVocab + 2048;
  gensar::model::T5Model model(gensar::model::T5Config::tiger(t5_vocab));
  model->eval();
  gensar::model::T5Scorer t5(model);
  bench_step_time("T5 tiger (4+4 layers, d 128), random weights", t5, t5_vocab,
                  quick ? 4 : 16, 64, quick ? std::vector<int64_t>{4, 8} : std::vector<int64_t>{4, 8, 16},
                  quick);
  bench_throughput("T5 tiger (4+4 layers, d 128), random weights", t5, t5_vocab, 64,
                   quick ? 8 : 64, quick);
#else
  std::printf("[T5] not built (gensar_model missing): T5 figures left out\n");
#endif
  return 0;
}
