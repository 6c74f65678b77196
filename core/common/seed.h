// Every seed of a run comes from the one user seed (--seed) through derive(): one mixing hash
// (splitmix64's finaliser, mix()) and one derivation per purpose.
//
// The per-purpose formulas differ in shape because they predate this file and are kept bit for
// bit: checkpoints, resumed runs, generated datasets and the behaviour fingerprints
// (scripts/behaviour_fingerprint.py) depend on their values. What is unified is the code: there is
// one hash and one place that says how each seed is made. A new consumer should add a Purpose with
// the generic form, mix(mix(mix(seed) ^ a) ^ b * K), rather than a formula of its own.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace gensar::seed {

// splitmix64's finaliser: decorrelates values that differ in a few bits (seed, seed + 1, ranks).
// Inline: the dropout masks call it once per four elements of every activation.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class Purpose {
  // indices {a, b}: the generic form. Sample order (per-epoch permutation keys), the task mix and
  // per-sample streams, SASRec's per-(epoch, user) negatives, length-bucket window order.
  kGeneric,
  // indices {parameter name hash (name_hash)}: the generator of one T5 parameter's initial values.
  kModelInit,
  // indices {dp_rank}: dropout on replicated activations (same on every TP rank of a replica).
  kDropoutReplicated,
  // indices {dp_rank, tp_rank}: dropout on TP-sharded activations (differs per TP rank).
  kDropoutSharded,
  // indices {task, split, user, event_index}: the fixed negatives of one evaluation case.
  kEvalCandidates,
  // indices {tag, index}: one stream of the synthetic dataset reader (users, items, ...).
  kSyntheticData,
  // no indices: the global torch generator before building SASRec / training the RQ-VAE (their
  // layers draw their initial values from it).
  kSasRec,
  kRqVae,
};

// The seed for `purpose` from the run seed and the purpose's indices (see Purpose). Checks that
// the number of indices fits the purpose.
uint64_t derive(uint64_t seed, Purpose purpose, std::initializer_list<uint64_t> indices = {});

// FNV-1a of a parameter name: the index of Purpose::kModelInit.
uint64_t name_hash(std::string_view name);

// A portable random stream (std::*_distribution differ between standard libraries): splitmix64
// over a seed from derive().
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t state_;
};

}  // namespace gensar::seed
