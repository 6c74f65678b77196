#include "data_pipeline/readers/synthetic_reader.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "core/common/check.h"
#include "core/common/seed.h"

namespace gensar::data {
namespace {

// Portable randomness (core/common/seed.h): each stream is seeded from (seed, tag, index) so users
// and items can be generated independently and in any order.
class Rng : public seed::SplitMix64 {
 public:
  Rng(uint64_t run_seed, uint64_t tag, uint64_t index)
      : SplitMix64(seed::derive(run_seed, seed::Purpose::kSyntheticData, {tag, index})) {}
  bool chance(double p) { return uniform() < p; }
  // Geometric number of failures before success, mean `mean`.
  int64_t geometric(double mean) {
    if (mean <= 0) return 0;
    double p = 1.0 / (1.0 + mean);
    return static_cast<int64_t>(std::floor(std::log(1.0 - uniform()) / std::log(1.0 - p)));
  }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }

 private:
  uint64_t state_;
};

enum Tag : uint64_t { kWords = 1, kItems, kText, kUsers, kPopularity, kBrands };

constexpr int kWordsPerTopic = 40;
constexpr int kSubcategoriesPerTopic = 6;
constexpr int kBrandsPerTopic = 8;
constexpr int kGenericWords = 30;

const char* const kSyllables[] = {"ka", "lo", "mi", "ra", "ten", "vor", "su", "bel", "dri", "zan", "po", "qua",
                                  "ni", "fes", "tor", "gal", "mu", "sha", "ve", "rin", "co", "dex", "ly", "par",
                                  "tho", "gri", "nel", "os", "wen", "ju", "cal", "mor"};
constexpr int kSyllableCount = sizeof(kSyllables) / sizeof(kSyllables[0]);

std::string capitalised(std::string word) {
  if (!word.empty() && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 'a' + 'A');
  return word;
}

// Earlier-listed preferences are preferred: index k of n with weight 1/(k+1). The weights and
// their total are computed once per run (World holds one per list length) instead of per draw;
// same doubles, same arithmetic order, so the same picks.
class PreferredIndex {
 public:
  explicit PreferredIndex(size_t n) : weight_(n) {
    for (size_t k = 0; k < n; ++k) {
      weight_[k] = 1.0 / (k + 1);
      total_ += weight_[k];
    }
  }
  size_t operator()(Rng& rng) const {
    const size_t n = weight_.size();
    double pick = rng.uniform() * total_;
    for (size_t k = 0; k + 1 < n; ++k) {
      pick -= weight_[k];
      if (pick < 0) return k;
    }
    return n - 1;
  }

 private:
  std::vector<double> weight_;
  double total_ = 0;
};

// Everything about the world that is O(items + vocabulary): words, item topics/clusters,
// popularity, and the sampling tables. Users are simulated on top of it, one at a time.
class World {
 public:
  explicit World(const SyntheticOptions& o)
      : o_(o), preferred_topic_(std::max(o.topics_per_user, 1)), preferred_cluster_(std::max(o.clusters_per_user, 1)) {
    GENSAR_INPUT_CHECK(o.users > 0 && o.items > 0, "synthetic: users ({}) and items ({}) must be positive",
                       o.users, o.items);
    GENSAR_INPUT_CHECK(o.topics > 0 && o.clusters > 0, "synthetic: topics ({}) and clusters ({}) must be positive",
                       o.topics, o.clusters);
    GENSAR_INPUT_CHECK(o.min_events >= 1 && o.events_per_user >= o.min_events,
                       "synthetic: need 1 <= min_events ({}) <= events_per_user ({})", o.min_events,
                       o.events_per_user);
    GENSAR_INPUT_CHECK(o.search_share >= 0 && o.search_share <= 1, "synthetic: search_share {} not in [0,1]",
                       o.search_share);
    for (auto [name, p] : {std::pair<const char*, double>{"cluster_affinity", o.cluster_affinity},
                           {"popular_share", o.popular_share},
                           {"drift", o.drift}}) {
      GENSAR_INPUT_CHECK(p >= 0 && p <= 1, "synthetic: {} {} not in [0,1]", name, p);
    }
    GENSAR_INPUT_CHECK(o.zipf_exponent >= 0, "synthetic: zipf_exponent {} must be >= 0", o.zipf_exponent);
    GENSAR_INPUT_CHECK(o.topics_per_user >= 1 && o.clusters_per_user >= 1,
                       "synthetic: topics_per_user and clusters_per_user must be >= 1");
    make_words();
    make_items();
  }

  const SyntheticOptions& options() const { return o_; }
  // Draws an index into a user's topic (cluster) preferences.
  const PreferredIndex& preferred_topic() const { return preferred_topic_; }
  const PreferredIndex& preferred_cluster() const { return preferred_cluster_; }
  const std::vector<SyntheticItemTruth>& truth() const { return truth_; }
  const std::vector<std::string>& topic_words(int t) const { return topic_words_[t]; }

  RawItem item(int64_t i) const {
    const int t = truth_[i].topic;
    const auto& words = topic_words_[t];
    Rng rng(o_.seed, kText, static_cast<uint64_t>(i));
    const TitleDraw title = draw_title(rng);
    RawItem out;
    out.id = synthetic_item_id(i);
    out.brand = capitalised(brands_[t][title.brand]);
    out.title = out.brand;
    for (int k = 0; k < title.count; ++k) {
      out.title += ' ';
      out.title += capitalised(words[title.words[k]]);
    }
    out.title += ' ';
    out.title += capitalised(generic_[rng.below(kGenericWords)]);
    int desc_words = 10 + static_cast<int>(rng.below(11));
    for (int k = 0; k < desc_words; ++k) {
      if (!out.description.empty()) out.description += ' ';
      out.description += rng.chance(0.7) ? words[topic_word_index(rng)] : generic_[rng.below(kGenericWords)];
    }
    out.categories = category_path(t, subcategory(i));
    return out;
  }

  // The words a searcher of item i would type: its topic or subcategory name, then title or topic words.
  // Only the title's topic words matter here (vocabulary words are lower case already), so the
  // title's random draws are replayed instead of building the whole item text per search event:
  // that was the generator's largest cost. Same draws, same query.
  // `t` is item i's topic (the caller has it from its pick: truth_[i] would be one more cache miss).
  std::string query(int64_t i, int t, Rng& rng) const {
    const auto& words = topic_words_[t];
    Rng text_rng(o_.seed, kText, static_cast<uint64_t>(i));
    const TitleDraw title = draw_title(text_rng);
    // Every vocabulary word is unique, so a word is identified by its index in `words`.
    int query_words[3];
    int n = 0;
    query_words[n++] = rng.chance(0.5) ? 0 : 1 + subcategory(i);
    int extra = static_cast<int>(rng.below(3));  // 0..2 more words
    for (int k = 0; k < extra; ++k) {
      // One of the title's topic words (not its brand or generic word), or any topic word.
      int w = rng.chance(0.6) ? title.words[rng.below(static_cast<uint64_t>(title.count))]
                              : topic_word_index(rng);
      if (std::find(query_words, query_words + n, w) == query_words + n) query_words[n++] = w;
    }
    std::string q;
    for (int k = 0; k < n; ++k) {
      if (k > 0) q += ' ';
      q += words[query_words[k]];
    }
    return q;
  }

  // An item at a sorted position, with the popularity prefix sum through it: the binary search
  // over the sums ends on the line that holds the item and its topic (separate arrays of sums,
  // items and topics cost a cache miss each per draw, the generator's main cost).
  struct Pick {
    double cumulative;  // popularity of the sorted positions up to and including this one
    int64_t item;
    int topic;
  };
  // Draws an item from sorted positions [begin, end) proportionally to popularity.
  const Pick& sample_range(size_t begin, size_t end, Rng& rng) const {
    double lo = begin == 0 ? 0.0 : picks_[begin - 1].cumulative, hi = picks_[end - 1].cumulative;
    double u = lo + rng.uniform() * (hi - lo);
    size_t pos = std::upper_bound(picks_.begin() + begin, picks_.begin() + end, u,
                                  [](double v, const Pick& p) { return v < p.cumulative; }) -
                 picks_.begin();
    return picks_[std::min(pos, end - 1)];
  }
  const Pick& sample_global(Rng& rng) const { return sample_range(0, picks_.size(), rng); }
  // Items of topic t, or of (t, cluster c): contiguous in the sorted order.
  std::pair<size_t, size_t> topic_range(int t) const {
    return {bucket_start_[static_cast<size_t>(t) * o_.clusters],
            bucket_start_[static_cast<size_t>(t + 1) * o_.clusters]};
  }
  std::pair<size_t, size_t> bucket_range(int t, int c) const {
    size_t b = static_cast<size_t>(t) * o_.clusters + c;
    return {bucket_start_[b], bucket_start_[b + 1]};
  }
  // A topic drawn proportionally to its items' total popularity.
  int sample_topic(Rng& rng) const { return sample_global(rng).topic; }

 private:
  // The first draws of an item's text stream: brand, then 3-4 topic words (head words more likely).
  struct TitleDraw {
    int brand = 0;
    int count = 0;
    int words[4] = {0, 0, 0, 0};
  };
  TitleDraw draw_title(Rng& rng) const {
    TitleDraw d;
    d.brand = static_cast<int>(rng.below(kBrandsPerTopic));
    d.count = 3 + static_cast<int>(rng.below(2));
    for (int k = 0; k < d.count; ++k) d.words[k] = topic_word_index(rng);
    return d;
  }
  int topic_word_index(Rng& rng) const {
    // Zipf-like inside the vocabulary: squaring a uniform favours the head words.
    double u = rng.uniform();
    return static_cast<int>(u * u * kWordsPerTopic);
  }
  int subcategory(int64_t i) const {
    return static_cast<int>(seed::mix(o_.seed ^ seed::mix(static_cast<uint64_t>(i) + 7)) % kSubcategoriesPerTopic);
  }
  std::string category_path(int t, int sub) const {
    // Top level: one of a few departments shared by several topics; then the topic; then a subcategory.
    const auto& words = topic_words_[t];
    return capitalised(departments_[t % departments_.size()]) + ", " + capitalised(words[0]) + ", " +
           capitalised(words[1 + sub]);
  }

  std::string fresh_word(Rng& rng, std::unordered_set<std::string>& used) {
    while (true) {
      int syllables = 2 + static_cast<int>(rng.below(2));
      std::string w;
      for (int k = 0; k < syllables; ++k) w += kSyllables[rng.below(kSyllableCount)];
      if (used.insert(w).second) return w;
    }
  }

  void make_words() {
    Rng rng(o_.seed, kWords, 0);
    std::unordered_set<std::string> used;
    // Every word is unique across topics, so a query word identifies its topic's vocabulary.
    for (int k = 0; k < kGenericWords; ++k) generic_.push_back(fresh_word(rng, used));
    int departments = std::max(1, o_.topics / 4);
    for (int k = 0; k < departments; ++k) departments_.push_back(fresh_word(rng, used));
    topic_words_.resize(o_.topics);
    brands_.resize(o_.topics);
    for (int t = 0; t < o_.topics; ++t) {
      for (int k = 0; k < kWordsPerTopic; ++k) topic_words_[t].push_back(fresh_word(rng, used));
      for (int k = 0; k < kBrandsPerTopic; ++k) brands_[t].push_back(fresh_word(rng, used));
    }
  }

  void make_items() {
    const int64_t n = o_.items;
    truth_.resize(n);
    // Popularity rank: a seeded permutation, so rank is independent of topic and cluster.
    std::vector<int64_t> rank(n);
    std::iota(rank.begin(), rank.end(), 0);
    Rng perm(o_.seed, kPopularity, 0);
    for (int64_t i = n - 1; i > 0; --i) std::swap(rank[i], rank[perm.below(static_cast<uint64_t>(i + 1))]);
    for (int64_t i = 0; i < n; ++i) {
      Rng rng(o_.seed, kItems, static_cast<uint64_t>(i));
      truth_[i].topic = static_cast<int>(rng.below(o_.topics));
      truth_[i].cluster = static_cast<int>(rng.below(o_.clusters));
      truth_[i].popularity = 1.0 / std::pow(static_cast<double>(rank[i] + 1), o_.zipf_exponent);
    }
    // Sort by (topic, cluster): every topic and every bucket is then a contiguous range of one
    // popularity prefix-sum array.
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::make_pair(truth_[a].topic, truth_[a].cluster) < std::make_pair(truth_[b].topic, truth_[b].cluster);
    });
    picks_.resize(n);
    double cumulative = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      cumulative += truth_[order[k]].popularity;
      picks_[k] = Pick{cumulative, order[k], truth_[order[k]].topic};
    }
    const size_t buckets = static_cast<size_t>(o_.topics) * o_.clusters;
    bucket_start_.assign(buckets + 1, 0);
    std::vector<size_t> counts(buckets, 0);
    for (int64_t i = 0; i < n; ++i) ++counts[static_cast<size_t>(truth_[i].topic) * o_.clusters + truth_[i].cluster];
    for (size_t b = 0; b < buckets; ++b) bucket_start_[b + 1] = bucket_start_[b] + counts[b];
  }

  SyntheticOptions o_;
  PreferredIndex preferred_topic_, preferred_cluster_;
  std::vector<std::string> generic_;
  std::vector<std::string> departments_;
  std::vector<std::vector<std::string>> topic_words_;
  std::vector<std::vector<std::string>> brands_;
  std::vector<SyntheticItemTruth> truth_;
  std::vector<Pick> picks_;          // items sorted by (topic, cluster), with popularity prefix sums
  std::vector<size_t> bucket_start_; // (topic, cluster) -> first position in picks_
};

// One user's life: preferred topics (drifting) and clusters, clicks drawn from them.
void simulate_user(const World& world, int64_t u, RawSink& sink) {
  const SyntheticOptions& o = world.options();
  Rng rng(o.seed, kUsers, static_cast<uint64_t>(u));
  const int64_t n_events = o.min_events + rng.geometric(o.events_per_user - o.min_events);
  std::vector<int> topics(o.topics_per_user);
  for (auto& t : topics) t = world.sample_topic(rng);
  std::vector<int> clusters(o.clusters_per_user);
  for (auto& c : clusters) c = static_cast<int>(rng.below(o.clusters));
  double time = static_cast<double>(o.start_time) + rng.uniform() * 365.0 * 86400.0;
  std::unordered_set<int64_t> clicked;
  const std::string user_id = synthetic_user_id(u);
  const PreferredIndex& preferred_topic = world.preferred_topic();
  const PreferredIndex& preferred_cluster = world.preferred_cluster();

  for (int64_t e = 0; e < n_events; ++e) {
    if (rng.chance(o.drift)) topics[rng.below(topics.size())] = world.sample_topic(rng);
    const World::Pick* pick = nullptr;
    for (int attempt = 0; attempt < 8; ++attempt) {
      if (rng.chance(o.popular_share)) {
        pick = &world.sample_global(rng);
      } else {
        const int t = topics[preferred_topic(rng)];
        auto range = world.topic_range(t);
        if (rng.chance(o.cluster_affinity)) {
          auto bucket = world.bucket_range(t, clusters[preferred_cluster(rng)]);
          if (bucket.second > bucket.first) range = bucket;
        }
        if (range.second == range.first) range = {0, static_cast<size_t>(o.items)};
        pick = &world.sample_range(range.first, range.second, rng);
      }
      if (!clicked.count(pick->item)) break;  // mostly new items, like 5-core review data
    }
    const int64_t item = pick->item;
    clicked.insert(item);
    time += 60.0 + rng.exponential(2.0 * 86400.0);
    RawEvent event;
    event.user = user_id;
    event.item = synthetic_item_id(item);
    event.timestamp = static_cast<int64_t>(time);
    event.position = e;
    if (rng.chance(o.search_share)) {
      event.kind = EventKind::kSearch;
      event.query = world.query(item, pick->topic, rng);
    } else {
      event.kind = EventKind::kRec;
    }
    sink.event(std::move(event));
  }
}

class SyntheticReader : public RawReader {
 public:
  explicit SyntheticReader(const SyntheticOptions& options) : world_(options) {}

  void read(RawSink& sink) override {
    const auto& o = world_.options();
    for (int64_t i = 0; i < o.items; ++i) sink.item(world_.item(i));
    for (int64_t u = 0; u < o.users; ++u) simulate_user(world_, u, sink);
  }
  std::string source() const override {
    const auto& o = world_.options();
    return fmt::format("synthetic:users={},items={},topics={},clusters={},events_per_user={},search_share={},seed={}",
                       o.users, o.items, o.topics, o.clusters, o.events_per_user, o.search_share, o.seed);
  }
  bool has_search_events() const override { return true; }

 private:
  World world_;
};

}  // namespace

std::unique_ptr<RawReader> make_synthetic_reader(const SyntheticOptions& options) {
  return std::make_unique<SyntheticReader>(options);
}

std::vector<SyntheticItemTruth> synthetic_item_truth(const SyntheticOptions& options) {
  return World(options).truth();
}

std::vector<std::string> synthetic_topic_words(const SyntheticOptions& options, int topic) {
  World world(options);
  GENSAR_CHECK(topic >= 0 && topic < options.topics, "topic {} out of range", topic);
  return world.topic_words(topic);
}

std::string synthetic_item_id(int64_t index) { return "i" + std::to_string(index); }
std::string synthetic_user_id(int64_t index) { return "u" + std::to_string(index); }

}  // namespace gensar::data
