// Ingest of the real datasets in ../shared/datasets: exact counts, text, order and splits.
#include <gtest/gtest.h>

#include <numeric>

#include "data_pipeline/dataset.h"
#include "data_pipeline/stats.h"
#include "ingest_fixtures.h"

using namespace gensar::data;
using namespace gensar::data::testing;

TEST(IngestReal, ScientificLcrec) {
  std::string out = fresh_dir("scientific") + "/ds";
  IngestResult r = ingest_source("lcrec", datasets_dir() + "/amazon18-scientific/Scientific",
                                 quick_options(out));
  EXPECT_FALSE(r.skipped);
  Dataset d(out);
  EXPECT_EQ(d.num_users(), 8317);
  EXPECT_EQ(d.num_items(), 4344);
  EXPECT_EQ(d.num_rec_events(), 58492);
  // Default --search-events all: every interaction is also a search click (every item has a
  // category path or a title).
  EXPECT_EQ(d.num_search_events(), 58492);
  EXPECT_GT(d.num_queries(), 100);
  EXPECT_LE(d.num_queries(), 4344);

  // Item 0 as in Scientific.item.json; categories re-joined with ", ".
  EXPECT_EQ(d.item_key(0), "0");
  EXPECT_EQ(d.item_title(0).substr(0, 11), "SUPCO SPP6 ");
  EXPECT_EQ(d.item_brand(0), "Sealed Unit Parts Co., Inc.");
  EXPECT_EQ(d.item_categories(0),
            "Industrial & Scientific, Industrial Electrical, Passive Components, Capacitors");
  EXPECT_EQ(d.find_item("4343"), 4343);
  EXPECT_EQ(d.find_item("no-such-item"), -1);
  auto pop = d.item_popularity();
  EXPECT_EQ(std::accumulate(pop.begin(), pop.end(), int64_t{0}), 58492);

  // User "0" = [0, 1, ..., 8]: rec click then its search click, in order, queries from the path.
  int32_t user0 = -1;
  int64_t users_seen = 0, events_seen = 0;
  d.for_each_user([&](int32_t u, std::string_view key, const std::vector<Event>& events) {
    EXPECT_EQ(u, users_seen);
    ++users_seen;
    events_seen += static_cast<int64_t>(events.size());
    if (key == "0") user0 = u;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].kind, i % 2 == 0 ? EventKind::kRec : EventKind::kSearch);
      EXPECT_EQ(events[i].position, static_cast<int64_t>(i / 2));
      EXPECT_EQ(events[i].timestamp, -1);
    }
  });
  EXPECT_EQ(users_seen, 8317);
  EXPECT_EQ(events_seen, 2 * 58492);
  ASSERT_GE(user0, 0);
  auto ev = d.events(user0);
  ASSERT_EQ(ev.size(), 18u);
  EXPECT_EQ(d.user_key(user0), "0");
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(ev[2 * i].item, i);
    EXPECT_EQ(ev[2 * i].query, -1);
    EXPECT_EQ(ev[2 * i + 1].item, i);
    EXPECT_TRUE(same_interaction(ev[2 * i], ev[2 * i + 1]));
  }
  EXPECT_EQ(d.query_text(ev[1].query), "industrial scientific electrical passive components capacitors");

  // Leave-one-out: every user has >= 5 interactions -> a test and a valid example per task.
  for (Task t : {Task::kRec, Task::kSearch}) {
    EXPECT_EQ(d.examples(t, Split::kTest).size(), 8317u);
    EXPECT_EQ(d.examples(t, Split::kValid).size(), 8317u);
    // Every interaction but the first is an example (the first has no earlier search).
    EXPECT_EQ(d.examples(t, Split::kTrain).size(), 58492u - 3 * 8317u);
  }
  auto stats = dataset_stats(d);
  EXPECT_EQ(stats["users"], 8317);
  EXPECT_EQ(stats["interactions"], 2 * 58492);
  EXPECT_EQ(stats["users_with_both_kinds"], 8317);
}

TEST(IngestReal, BeautyP5) {
  std::string out = fresh_dir("beauty") + "/ds";
  IngestOptions o = quick_options(out);
  o.search_events = "none";
  ingest_source("p5", datasets_dir() + "/amazon14-beauty/Beauty", o);
  Dataset d(out);
  EXPECT_EQ(d.num_users(), 22363);
  EXPECT_EQ(d.num_items(), 12101);
  EXPECT_EQ(d.num_rec_events(), 198502);
  EXPECT_EQ(d.num_search_events(), 0);
  EXPECT_EQ(d.num_queries(), 0);
  // Dense index follows the 1-based ids; keys are ASINs; text = attribute names.
  EXPECT_EQ(d.item_key(0), "B004756YJA");
  EXPECT_EQ(d.item_key(1), "B004ZT0SSG");
  EXPECT_FALSE(d.item_categories(0).empty());
  // Without search events no example satisfies the default rule; with min-prior-search 0 it does.
  EXPECT_EQ(d.examples(Task::kRec, Split::kTest).size(), 0u);
}

// The S3-Rec layout of the same set: Beauty.txt + Beauty_item2attributes.json without datamaps
// (links to the shared files, so nothing is copied). Same users, items and clicks; keys are ids.
TEST(IngestReal, BeautyWithoutDatamaps) {
  std::string dir = fresh_dir("beauty-s3rec");
  for (const char* name : {"Beauty.txt", "Beauty_item2attributes.json"})
    fs::create_symlink(fs::absolute(datasets_dir() + "/amazon14-beauty/" + name), dir + "/" + name);
  IngestOptions o = quick_options(dir + "/ds");
  o.split.min_prior_search = 0;
  ingest_source("p5", dir + "/Beauty", o);
  Dataset d(dir + "/ds");
  EXPECT_EQ(d.num_users(), 22363);
  EXPECT_EQ(d.num_items(), 12101);
  EXPECT_EQ(d.num_rec_events(), 198502);
  EXPECT_EQ(d.num_search_events(), 198502);
  EXPECT_EQ(d.num_queries(), 3117);  // 3,110 with datamaps: ids and names dedupe differently
  EXPECT_EQ(d.item_key(0), "1");
  EXPECT_EQ(d.item_categories(0).substr(0, 4), "attr");
  EXPECT_EQ(d.examples(Task::kRec, Split::kTest).size(), 22363u);
}

TEST(IngestReal, BeautyP5DirectoryInputWithSearchEvents) {
  std::string out = fresh_dir("beauty-dir") + "/ds";
  IngestOptions o = quick_options(out);
  o.split.min_prior_search = 0;
  ingest_source("p5", datasets_dir() + "/amazon14-beauty", o);
  Dataset d(out);
  EXPECT_EQ(d.num_users(), 22363);
  EXPECT_EQ(d.num_rec_events(), 198502);
  EXPECT_EQ(d.num_search_events(), 198502);
  // Users are keyed by reviewer id (datamaps id2user); line 1 is user "1" = A1YJEY40YUW4SE.
  bool found = false;
  d.for_each_user([&](int32_t, std::string_view key, const std::vector<Event>& events) {
    if (key == "A1YJEY40YUW4SE") {
      found = true;
      ASSERT_EQ(events.size(), 10u);  // "1 1 2 3 4 5": 5 interactions x 2 kinds
      EXPECT_EQ(events[0].item, 0);
      EXPECT_EQ(events[8].item, 4);
    }
  });
  EXPECT_TRUE(found);
  EXPECT_EQ(d.examples(Task::kRec, Split::kTest).size(), 22363u);
  EXPECT_EQ(d.examples(Task::kSearch, Split::kTest).size(), 22363u);
}
