#include "core/common/seed.h"

#include "core/common/check.h"

namespace gensar::seed {
namespace {

constexpr uint64_t kIndexSpread = 0xd6e8feb86659fd93ULL;  // odd multiplier for a second index
constexpr uint64_t kDropoutSalt = 0x64726f70ULL;         // "drop"
constexpr uint64_t kShardedSalt = 0x2718ULL;

size_t arity(Purpose purpose) {
  switch (purpose) {
    case Purpose::kGeneric: return 2;  // a trailing b may be left out (0)
    case Purpose::kModelInit: return 1;
    case Purpose::kDropoutReplicated: return 1;
    case Purpose::kDropoutSharded: return 2;
    case Purpose::kEvalCandidates: return 4;
    case Purpose::kSyntheticData: return 2;
    case Purpose::kSasRec:
    case Purpose::kRqVae: return 0;
  }
  return 0;
}

}  // namespace

uint64_t name_hash(std::string_view name) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t derive(uint64_t seed, Purpose purpose, std::initializer_list<uint64_t> indices) {
  const uint64_t* i = indices.begin();  // no allocation: this runs per sample and per draw
  const size_t want = arity(purpose);
  GENSAR_CHECK(indices.size() == want || (purpose == Purpose::kGeneric && indices.size() == 1),
               "seed derivation {} takes {} indices, got {}", static_cast<int>(purpose), want,
               indices.size());
  switch (purpose) {
    case Purpose::kGeneric:
      return mix(mix(mix(seed) ^ i[0]) ^ ((indices.size() > 1 ? i[1] : 0) * kIndexSpread));
    case Purpose::kModelInit:
      return seed ^ i[0];
    case Purpose::kDropoutReplicated:
      return mix(mix(seed ^ kDropoutSalt) + i[0]);
    case Purpose::kDropoutSharded:
      return mix(derive(seed, Purpose::kDropoutReplicated, {i[0]}) + kShardedSalt + i[1]);
    case Purpose::kEvalCandidates: {
      // task and split are offset so that task 0 / split 0 still change the state.
      uint64_t s = mix(seed);
      s = mix(s ^ (i[0] + 1));
      s = mix(s ^ (i[1] + 11));
      s = mix(s ^ i[2]);
      return mix(s ^ i[3]);
    }
    case Purpose::kSyntheticData:
      return mix(mix(seed ^ mix(i[0])) + i[1]);
    case Purpose::kSasRec:
    case Purpose::kRqVae:
      return seed;
  }
  return seed;
}

}  // namespace gensar::seed
