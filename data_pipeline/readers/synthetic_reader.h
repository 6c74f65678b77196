// `synthetic`: a deterministic generator of realistic joint search + recommendation logs at any
// scale. Items have a topic (which decides their text: titles, descriptions, brands and category
// paths drawn from per-topic vocabularies) and, independently, a hidden co-click cluster ("style")
// that no text reveals. Item popularity is Zipf. Users prefer a few topics (which drift over time)
// and a few clusters; a search event's query is made of topic words of the clicked item. So a model
// needs both semantic (text) and collaborative (co-click) signals.
// Memory is O(items); events are generated user by user and streamed, so 50M+ events are fine.
// Same options (seed included) -> byte-identical stream. Model and knobs: docs/readers-extra.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

struct SyntheticOptions {
  int64_t users = 1000;
  int64_t items = 500;
  int topics = 20;                  // text topics (vocabularies)
  int clusters = 16;                // hidden co-click clusters, independent of topics
  double events_per_user = 20.0;    // mean events per user (>= min_events)
  int min_events = 5;               // every user has at least this many events
  double search_share = 0.4;        // probability that an event is a search click
  double zipf_exponent = 1.0;       // item popularity weight = 1 / rank^exponent
  int topics_per_user = 3;
  int clusters_per_user = 3;
  double cluster_affinity = 0.85;   // probability a click stays inside the user's clusters
  double popular_share = 0.1;       // probability a click ignores taste and follows global popularity
  double drift = 0.05;              // per-event probability that one preferred topic is replaced
  uint64_t seed = 42;
  int64_t start_time = 1500000000;  // first possible timestamp (seconds since epoch)
};

std::unique_ptr<RawReader> make_synthetic_reader(const SyntheticOptions& options);

// Ground truth for tests and diagnostics (not part of the emitted log).
struct SyntheticItemTruth {
  int topic = 0;
  int cluster = 0;
  double popularity = 0;  // unnormalised Zipf weight
};
std::vector<SyntheticItemTruth> synthetic_item_truth(const SyntheticOptions& options);
// The lower-case vocabulary of a topic: every word its items' text and queries draw from
// (besides brand names and a small shared vocabulary of generic words).
std::vector<std::string> synthetic_topic_words(const SyntheticOptions& options, int topic);
// Ids as emitted: "i<index>", "u<index>"; index parsing for tests.
std::string synthetic_item_id(int64_t index);
std::string synthetic_user_id(int64_t index);

}  // namespace gensar::data
