// RecBole, event-log TSV and synthetic readers on hand-written fixtures (valid and malformed) and
// the synthetic generator's determinism and statistical properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/common/check.h"
#include "data_pipeline/bm25.h"
#include "data_pipeline/readers/recbole_reader.h"
#include "data_pipeline/readers/synthetic_reader.h"
#include "data_pipeline/readers/tsv_reader.h"

namespace gensar::data {
namespace {

namespace fs = std::filesystem;

struct CollectSink : RawSink {
  std::vector<RawItem> items;
  std::vector<RawEvent> events;
  void item(RawItem&& i) override { items.push_back(std::move(i)); }
  void event(RawEvent&& e) override { events.push_back(std::move(e)); }
};

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("gensar-readers-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }
  std::string path(const std::string& name = "") const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Runs the reader and returns the InputError message ("" if none was thrown).
std::string read_error(RawReader& reader) {
  CollectSink sink;
  try {
    reader.read(sink);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------- RecBole

const char* kInter =
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "u1\tA\t5.0\t100\n"
    "u2\tB\t3.0\t90.7\n"
    "u1\tB\t4.0\t200\n";
const char* kItem =
    "item_id:token\ttitle:token_seq\tsales_rank:float\tcategories:token_seq\tbrand:token\n"
    "A\tRed Pen\t12\t'Office', 'Writing', 'Pens'\tAcme\n"
    "B\tBlue Ink\t3\tOffice Ink\t\n";

TEST(RecboleReader, ReadsAtomicFilesAndIgnoresUnknownColumns) {
  TempDir dir;
  dir.write("shop.inter", kInter);
  dir.write("shop.item", kItem);
  auto reader = make_recbole_reader({dir.path("shop")});
  CollectSink sink;
  reader->read(sink);
  ASSERT_EQ(sink.items.size(), 2u);
  EXPECT_EQ(sink.items[0].id, "A");
  EXPECT_EQ(sink.items[0].title, "Red Pen");
  EXPECT_EQ(sink.items[0].brand, "Acme");
  EXPECT_EQ(sink.items[0].categories, "Office, Writing, Pens");
  EXPECT_EQ(sink.items[1].categories, "Office, Ink");  // token_seq without commas: one level per token
  EXPECT_EQ(sink.items[1].brand, "");
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[0].user, "u1");
  EXPECT_EQ(sink.events[0].item, "A");
  EXPECT_EQ(sink.events[0].timestamp, 100);
  EXPECT_EQ(sink.events[1].timestamp, 90);  // float seconds floored
  EXPECT_EQ(sink.events[2].kind, EventKind::kRec);
  EXPECT_LT(sink.events[0].position, sink.events[2].position);
  EXPECT_FALSE(reader->has_search_events());
  EXPECT_NE(reader->source().find("shop.inter"), std::string::npos);
}

TEST(RecboleReader, DirectoryPrefixAndMissingItemFile) {
  TempDir dir;
  fs::create_directories(dir.path("ml"));
  dir.write("ml/ml.inter", "user_id:token\titem_id:token\n7\t1\n7\t2\n8\t1\n");
  auto reader = make_recbole_reader({dir.path("ml")});
  CollectSink sink;
  reader->read(sink);
  ASSERT_EQ(sink.items.size(), 2u);  // items seen in .inter, no text
  EXPECT_EQ(sink.items[0].id, "1");
  EXPECT_EQ(sink.items[1].id, "2");
  EXPECT_EQ(sink.items[0].title, "");
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[0].timestamp, -1);  // no timestamp column
}

TEST(RecboleReader, MalformedInputNamesFileLineAndField) {
  TempDir dir;
  {  // a row with too few fields
    std::string inter = dir.write("a.inter", "user_id:token\titem_id:token\ttimestamp:float\nu1\tA\t1\nu2\tB\n");
    dir.write("a.item", kItem);
    auto r = make_recbole_reader({dir.path("a")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(inter + ":3:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'timestamp'"), std::string::npos) << msg;
  }
  {  // a bad timestamp
    std::string inter = dir.write("b.inter", "user_id:token\titem_id:token\ttimestamp:float\nu1\tA\tnoon\n");
    auto r = make_recbole_reader({dir.path("b")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(inter + ":2:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'timestamp'"), std::string::npos) << msg;
  }
  {  // an unknown field type
    std::string inter = dir.write("c.inter", "user_id:token\titem_id:tok\n");
    auto r = make_recbole_reader({dir.path("c")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(inter + ":1:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'item_id'"), std::string::npos) << msg;
  }
  {  // the user column is missing
    std::string inter = dir.write("d.inter", "uid:token\titem_id:token\nu1\tA\n");
    auto r = make_recbole_reader({dir.path("d")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(inter + ":1:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'user_id'"), std::string::npos) << msg;
  }
  {  // an empty item id in .item
    dir.write("e.inter", kInter);
    std::string item = dir.write("e.item", "item_id:token\ttitle:token_seq\nA\tPen\n\tNo id\n");
    auto r = make_recbole_reader({dir.path("e")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(item + ":3:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'item_id'"), std::string::npos) << msg;
  }
  {  // empty file
    std::string inter = dir.write("f.inter", "");
    auto r = make_recbole_reader({dir.path("f")});
    std::string msg = read_error(*r);
    EXPECT_NE(msg.find(inter), std::string::npos) << msg;
    EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_recbole_reader({dir.path("nonexistent")}), InputError);
}

// ---------------------------------------------------------------- event-log TSV

TEST(TsvReader, ReadsEventsAndItemsWithEscapes) {
  TempDir dir;
  std::string items = dir.write("items.tsv",
                                "item\ttitle\tdescription\tbrand\tcategories\n"
                                "p1\tTab\\there\tline1\\nline2 back\\\\slash\tAcme\tTools, Hand Tools\n"
                                "p2\tDrill\t\t\tTools\r\n");
  // Columns in another order than documented, plus an extra ignored column.
  std::string events = dir.write("events.tsv",
                                 "timestamp\tuser\titem\tkind\tquery\tsession\n"
                                 "100\tu1\tp1\trec\t\tx\n"
                                 "\n"
                                 "200\tu1\tp2\tsearch\tcordless drill\ty\n"
                                 "150\tu2\tp1\tsearch\thand\\ttool\tz\n");
  auto reader = make_tsv_reader({events, items});
  EXPECT_TRUE(reader->has_search_events());
  CollectSink sink;
  reader->read(sink);
  ASSERT_EQ(sink.items.size(), 2u);
  EXPECT_EQ(sink.items[0].title, "Tab\there");
  EXPECT_EQ(sink.items[0].description, "line1\nline2 back\\slash");
  EXPECT_EQ(sink.items[0].categories, "Tools, Hand Tools");
  EXPECT_EQ(sink.items[1].categories, "Tools");  // CRLF stripped
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[0].kind, EventKind::kRec);
  EXPECT_EQ(sink.events[0].query, "");
  EXPECT_EQ(sink.events[0].timestamp, 100);
  EXPECT_EQ(sink.events[1].kind, EventKind::kSearch);
  EXPECT_EQ(sink.events[1].query, "cordless drill");
  EXPECT_EQ(sink.events[1].user, "u1");
  EXPECT_EQ(sink.events[2].query, "hand\ttool");
  EXPECT_EQ(sink.events[2].position, 5);  // line number in the file
}

TEST(TsvReader, MalformedInputNamesFileLineAndField) {
  TempDir dir;
  const std::string items = dir.write("items.tsv", "item\ttitle\tdescription\tbrand\tcategories\np1\tT\tD\tB\tC\n");
  const std::string header = "user\titem\ttimestamp\tkind\tquery\n";
  struct Case {
    std::string body;
    std::string line;
    std::string field;
  };
  std::vector<Case> cases = {
      {"u1\tp1\t1\tclick\t\n", ":2:", "'kind'"},
      {"u1\tp1\t1\trec\t\nu1\tp1\t2\tsearch\t\n", ":3:", "'query'"},
      {"u1\tp1\tyesterday\trec\t\n", ":2:", "'timestamp'"},
      {"u1\tp1\t1\tsearch\tbad\\q\n", ":2:", "'query'"},
      {"u1\tp1\t1\trec\n", ":2:", "'query'"},
      {"\tp1\t1\trec\t\n", ":2:", "'user'"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    std::string events = dir.write("events" + std::to_string(k) + ".tsv", header + cases[k].body);
    auto reader = make_tsv_reader({events, items});
    std::string msg = read_error(*reader);
    EXPECT_NE(msg.find(events + cases[k].line), std::string::npos) << k << ": " << msg;
    EXPECT_NE(msg.find(cases[k].field), std::string::npos) << k << ": " << msg;
  }
  {  // missing column in the header
    std::string events = dir.write("nokind.tsv", "user\titem\ttimestamp\tquery\nu1\tp1\t1\t\n");
    std::string msg = read_error(*make_tsv_reader({events, items}));
    EXPECT_NE(msg.find(events + ":1:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'kind'"), std::string::npos) << msg;
  }
  {  // empty files, and a header with no rows
    std::string events = dir.write("empty.tsv", "");
    std::string msg = read_error(*make_tsv_reader({events, items}));
    EXPECT_NE(msg.find(events), std::string::npos) << msg;
    std::string only_header = dir.write("header.tsv", header);
    msg = read_error(*make_tsv_reader({only_header, items}));
    EXPECT_NE(msg.find(only_header), std::string::npos) << msg;
  }
  {  // items: missing id
    std::string bad_items = dir.write("bad_items.tsv", "item\ttitle\tdescription\tbrand\tcategories\n\tT\tD\tB\tC\n");
    std::string events = dir.write("ok.tsv", header + "u1\tp1\t1\trec\t\n");
    std::string msg = read_error(*make_tsv_reader({events, bad_items}));
    EXPECT_NE(msg.find(bad_items + ":2:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'item'"), std::string::npos) << msg;
  }
}

// ---------------------------------------------------------------- synthetic

int64_t parse_index(const std::string& id) { return std::stoll(id.substr(1)); }

SyntheticOptions small_world() {
  SyntheticOptions o;
  o.users = 2000;
  o.items = 1000;
  o.topics = 10;
  o.clusters = 12;
  o.events_per_user = 15;
  o.search_share = 0.4;
  o.seed = 7;
  return o;
}

TEST(SyntheticReader, DeterministicBySeed) {
  SyntheticOptions o = small_world();
  o.users = 300;
  auto digest = [](const SyntheticOptions& opt) {
    CollectSink sink;
    make_synthetic_reader(opt)->read(sink);
    std::string all;
    for (const auto& i : sink.items) all += i.id + "|" + i.title + "|" + i.description + "|" + i.brand + "|" + i.categories + "\n";
    for (const auto& e : sink.events)
      all += e.user + "|" + e.item + "|" + std::to_string(e.timestamp) + "|" + std::to_string(e.position) + "|" +
             std::to_string(static_cast<int>(e.kind)) + "|" + e.query + "\n";
    return all;
  };
  const std::string a = digest(o), b = digest(o);
  EXPECT_EQ(a, b);
  o.seed = 8;
  EXPECT_NE(a, digest(o));
}

TEST(SyntheticReader, HasTheClaimedStatistics) {
  const SyntheticOptions o = small_world();
  CollectSink sink;
  auto start = std::chrono::steady_clock::now();
  auto reader = make_synthetic_reader(o);
  reader->read(sink);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("synthetic: %zu events in %.3f s (%.0f events/s)\n", sink.events.size(), seconds,
              sink.events.size() / seconds);
  EXPECT_TRUE(reader->has_search_events());
  ASSERT_EQ(sink.items.size(), static_cast<size_t>(o.items));
  const auto truth = synthetic_item_truth(o);

  // Users: every one present with at least min_events, time-ordered, mean near the option.
  std::map<std::string, std::vector<const RawEvent*>> by_user;
  for (const auto& e : sink.events) by_user[e.user].push_back(&e);
  ASSERT_EQ(by_user.size(), static_cast<size_t>(o.users));
  for (const auto& [user, events] : by_user) {
    ASSERT_GE(events.size(), static_cast<size_t>(o.min_events)) << user;
    for (size_t k = 1; k < events.size(); ++k) ASSERT_GT(events[k]->timestamp, events[k - 1]->timestamp) << user;
  }
  const double mean = static_cast<double>(sink.events.size()) / o.users;
  EXPECT_NEAR(mean, o.events_per_user, 1.5);

  // Search share and queries made of the clicked item's topic words.
  int64_t searches = 0, words_total = 0, words_in_topic = 0, words_in_item_text = 0;
  std::vector<std::unordered_set<std::string>> topic_vocab(o.topics);
  for (int t = 0; t < o.topics; ++t) {
    auto w = synthetic_topic_words(o, t);
    topic_vocab[t].insert(w.begin(), w.end());
    EXPECT_EQ(w.size(), topic_vocab[t].size());
  }
  for (const auto& e : sink.events) {
    if (e.kind != EventKind::kSearch) {
      EXPECT_TRUE(e.query.empty());
      continue;
    }
    ++searches;
    const int64_t item = parse_index(e.item);
    const RawItem& it = sink.items[item];
    auto text = bm25_tokenize(it.title + " " + it.description + " " + it.categories);
    std::unordered_set<std::string> item_words(text.begin(), text.end());
    for (const auto& w : bm25_tokenize(e.query)) {
      ++words_total;
      words_in_topic += topic_vocab[truth[item].topic].count(w);
      words_in_item_text += item_words.count(w);
    }
  }
  EXPECT_NEAR(static_cast<double>(searches) / sink.events.size(), o.search_share, 0.03);
  EXPECT_EQ(words_in_topic, words_total);                 // every query word is a topic word of the item
  EXPECT_GT(words_in_item_text, words_total * 6 / 10);    // and mostly words of its own text

  // Zipf-ish popularity: the top 1% of items take a large share of clicks (uniform would give 1%).
  std::vector<int64_t> clicks(o.items, 0);
  for (const auto& e : sink.events) ++clicks[parse_index(e.item)];
  std::vector<int64_t> sorted = clicks;
  std::sort(sorted.rbegin(), sorted.rend());
  int64_t top = 0;
  for (int64_t k = 0; k < o.items / 100; ++k) top += sorted[k];
  const double top_share = static_cast<double>(top) / sink.events.size();
  std::printf("synthetic: top 1%% of items take %.1f%% of clicks\n", 100 * top_share);
  EXPECT_GT(top_share, 0.10);

  // Co-click clusters: consecutive clicks of a user share a hidden cluster far more often than
  // chance, although clusters are independent of topics (every cluster spans most topics).
  int64_t pairs = 0, same_cluster = 0;
  for (const auto& [user, events] : by_user) {
    for (size_t k = 1; k < events.size(); ++k) {
      ++pairs;
      same_cluster += truth[parse_index(events[k]->item)].cluster == truth[parse_index(events[k - 1]->item)].cluster;
    }
  }
  std::vector<double> cluster_mass(o.clusters, 0.0);
  for (int64_t i = 0; i < o.items; ++i) cluster_mass[truth[i].cluster] += clicks[i];
  double chance = 0;
  for (double m : cluster_mass) chance += (m / sink.events.size()) * (m / sink.events.size());
  const double rate = static_cast<double>(same_cluster) / pairs;
  std::printf("synthetic: consecutive same-cluster rate %.3f vs %.3f by chance\n", rate, chance);
  EXPECT_GT(rate, 2.0 * chance);
  std::vector<std::set<int>> topics_of_cluster(o.clusters);
  for (const auto& t : truth) topics_of_cluster[t.cluster].insert(t.topic);
  for (int c = 0; c < o.clusters; ++c) EXPECT_GE(topics_of_cluster[c].size(), static_cast<size_t>(o.topics * 7 / 10));
}

// Topic preferences drift: the topics of a user's early and late clicks overlap less with drift.
TEST(SyntheticReader, PreferencesDriftOverTime) {
  auto early_late_overlap = [](double drift) {
    SyntheticOptions o = small_world();
    o.users = 600;
    o.events_per_user = 40;
    o.popular_share = 0;
    o.drift = drift;
    const auto truth = synthetic_item_truth(o);
    CollectSink sink;
    make_synthetic_reader(o)->read(sink);
    std::map<std::string, std::vector<int>> topics;
    for (const auto& e : sink.events) topics[e.user].push_back(truth[parse_index(e.item)].topic);
    double overlap = 0;
    for (const auto& [user, seq] : topics) {
      const size_t third = seq.size() / 3;
      std::set<int> early(seq.begin(), seq.begin() + third);
      int shared = 0;
      for (size_t k = seq.size() - third; k < seq.size(); ++k) shared += early.count(seq[k]) > 0;
      overlap += static_cast<double>(shared) / std::max<size_t>(1, third);
    }
    return overlap / topics.size();
  };
  const double stable = early_late_overlap(0.0), drifting = early_late_overlap(0.08);
  std::printf("synthetic: late clicks in an early topic: %.2f without drift, %.2f with drift 0.08\n", stable, drifting);
  EXPECT_GT(stable, 0.85);  // rarely-used third topic may be missing early
  EXPECT_LT(drifting, stable - 0.15);
}

TEST(SyntheticReader, RejectsBadOptions) {
  SyntheticOptions o = small_world();
  o.items = 0;
  EXPECT_THROW(make_synthetic_reader(o), InputError);
  o = small_world();
  o.events_per_user = 2;
  EXPECT_THROW(make_synthetic_reader(o), InputError);
  o = small_world();
  o.search_share = 1.5;
  EXPECT_THROW(make_synthetic_reader(o), InputError);
}

}  // namespace
}  // namespace gensar::data
