// The dataset format's guarantees: split invariants, search-event options, idempotence (same input
// and config -> same bytes), checksums in the manifest, temporal splits, candidates written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "core/common/check.h"
#include "data_pipeline/checksum.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/query_words.h"
#include "data_pipeline/string_index.h"
#include "ingest_fixtures.h"

using namespace gensar;
using namespace gensar::data;
using namespace gensar::data::testing;

TEST(StringIndex, FindsShortAndLongKeysAcrossGrowth) {
  // Keys of every length around the inline limit (23 bytes), enough to grow the table a few times.
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back(std::string(static_cast<size_t>(i % 40), 'k') + std::to_string(i));
  auto key_at = [&keys](int32_t id) { return std::string_view(keys[static_cast<size_t>(id)]); };
  StringIndex<decltype(key_at)> index(key_at);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(index.find(keys[i]), -1);
    index.insert(keys[i], static_cast<int32_t>(i));
  }
  EXPECT_EQ(index.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(index.find(keys[i]), static_cast<int32_t>(i)) << keys[i];
  EXPECT_EQ(index.find(""), -1);
  EXPECT_EQ(index.find("k"), -1);
  EXPECT_EQ(index.find(std::string(30, 'k')), -1);
  EXPECT_EQ(index.find(std::string("k\0", 2)), -1);
}

TEST(Checksum, Xxh64KnownValues) {
  // Reference values of XXH64 (seed 0) from the xxHash project.
  EXPECT_EQ(xxh64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("abc"), 0x44BC2CF5AD770999ULL);
  // Streaming in odd pieces equals one shot, across the 32-byte stripes.
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>('a' + (i * 7) % 26);
  Xxh64 h(42);
  for (size_t i = 0; i < text.size(); i += 13) h.update(text.data() + i, std::min<size_t>(13, text.size() - i));
  EXPECT_EQ(h.digest(), xxh64(text, 42));
  EXPECT_NE(xxh64(text, 42), xxh64(text, 43));
}

TEST(QueryWords, AiEtAlProtocol) {
  EXPECT_EQ(query_from_text("Industrial & Scientific, Lab & Scientific Products, Lab Supplies"),
            "industrial scientific lab products supplies");
  EXPECT_EQ(query_from_text("Tools and Home Improvement, Power Tools"), "tools home improvement power");
  EXPECT_EQ(query_from_text("Crabtree &amp; Evelyn"), "crabtree evelyn");
  RawItem no_categories{"x", "The Big Red Pen", "", "", ""};
  EXPECT_EQ(query_for_item(no_categories), "big red pen");
}

namespace {

std::string scientific() { return datasets_dir() + "/amazon18-scientific/Scientific"; }

// Independent check of the example rule and leave-one-out on one user's events.
void check_user_splits(const Dataset& d, int32_t user, const std::vector<Event>& events,
                       const std::map<std::pair<int, int32_t>, std::vector<std::pair<int32_t, Split>>>& by_user) {
  for (int task = 0; task < 2; ++task) {
    std::vector<int32_t> expected;
    for (size_t i = 0; i < events.size(); ++i) {
      if (static_cast<int>(events[i].kind) != task) continue;
      int rec = 0, search = 0;
      for (size_t j = 0; j < i; ++j) {
        if (same_interaction(events[j], events[i])) continue;  // the target's own rec click
        (events[j].kind == EventKind::kRec ? rec : search)++;
      }
      if (rec >= 1 && search >= 1) expected.push_back(static_cast<int32_t>(i));
    }
    auto it = by_user.find({task, user});
    std::vector<std::pair<int32_t, Split>> got = it == by_user.end() ? decltype(got){} : it->second;
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got.size(), expected.size()) << "user " << user << " task " << task;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].first, expected[k]);
      Split want = k + 1 == got.size() ? Split::kTest : k + 2 == got.size() ? Split::kValid : Split::kTrain;
      EXPECT_EQ(got[k].second, want);
      // The history the sample builder uses never holds the target's interaction.
      int64_t end = history_end(events, got[k].first);
      for (int64_t j = 0; j < end; ++j) EXPECT_FALSE(same_interaction(events[j], events[got[k].first]));
    }
  }
  (void)d;
}

}  // namespace

TEST(Splits, LeaveOneOutInvariantsWithPartialSearch) {
  std::string out = fresh_dir("splits") + "/ds";
  IngestOptions o = quick_options(out);
  o.search_events = "fraction";
  o.search_fraction = 0.5;
  ingest_source("lcrec", scientific(), o);
  Dataset d(out);
  // About half of the interactions also became searches.
  EXPECT_NEAR(static_cast<double>(d.num_search_events()) / 58492.0, 0.5, 0.02);
  std::map<std::pair<int, int32_t>, std::vector<std::pair<int32_t, Split>>> by_user;
  for (Task t : {Task::kRec, Task::kSearch})
    for (Split s : {Split::kTrain, Split::kValid, Split::kTest})
      for (const Example& e : d.examples(t, s))
        by_user[{static_cast<int>(t), e.user}].push_back({e.event_index, s});
  int32_t checked = 0;
  d.for_each_user([&](int32_t u, std::string_view, const std::vector<Event>& events) {
    if (u % 7 == 0) {  // a sample of users keeps the test fast
      check_user_splits(d, u, events, by_user);
      ++checked;
    }
  });
  EXPECT_GT(checked, 1000);
}

TEST(Splits, MinPriorOptionsAndNoSearch) {
  std::string out = fresh_dir("splits-none") + "/ds";
  IngestOptions o = quick_options(out);
  o.search_events = "none";
  o.split.min_prior_search = 0;
  o.split.min_prior_rec = 4;
  ingest_source("lcrec", scientific(), o);
  Dataset d(out);
  EXPECT_EQ(d.num_search_events(), 0);
  EXPECT_EQ(d.examples(Task::kSearch, Split::kTest).size(), 0u);
  // Every user has >= 5 interactions: the 5th onward are examples.
  EXPECT_EQ(d.examples(Task::kRec, Split::kTest).size(), 8317u);
  for (const Example& e : d.examples(Task::kRec, Split::kTest)) EXPECT_GE(e.event_index, 4);
}

TEST(Splits, TemporalOnTimestampedLog) {
  std::string dir = fresh_dir("temporal");
  write_file(dir + "/shop.items.tsv",
             "item\ttitle\tdescription\tbrand\tcategories\n"
             "a\tRed pen\t\tAcme\tOffice, Pens\nb\tBlue pen\t\tAcme\tOffice, Pens\n"
             "c\tStapler\t\tAcme\tOffice, Staplers\n");
  write_file(dir + "/shop.events.tsv",
             "user\titem\ttimestamp\tkind\tquery\n"
             "u1\ta\t100\trec\t\nu1\tb\t200\tsearch\tblue pen\nu1\tc\t300\trec\t\n"
             "u1\ta\t400\tsearch\tred pen\nu1\tb\t500\trec\t\n"
             "u2\tc\t150\tsearch\tstapler\nu2\ta\t120\trec\t\nu2\tb\t450\trec\t\n");
  IngestOptions o = quick_options(dir + "/out");
  o.split.protocol = "temporal";
  o.split.valid_start = 350;
  o.split.test_start = 450;
  auto reader = make_reader(ReaderSpec{"tsv", dir + "/shop.events.tsv", ""});
  auto comm = single_ingest_comm();
  ingest(*reader, o, *comm);
  Dataset d(dir + "/out");
  EXPECT_EQ(d.num_queries(), 3);
  EXPECT_EQ(d.num_rec_events(), 5);
  EXPECT_EQ(d.num_search_events(), 3);
  // u2's events come out sorted by time although the file lists 150 before 120.
  int32_t u1 = d.user_key(0) == "u1" ? 0 : 1;
  int32_t u2 = 1 - u1;
  auto e2 = d.events(u2);
  ASSERT_EQ(e2.size(), 3u);
  EXPECT_EQ(e2[0].timestamp, 120);
  EXPECT_EQ(e2[1].timestamp, 150);
  EXPECT_EQ(d.query_text(e2[1].query), "stapler");
  // Rec examples: u1@300 (train: prior rec 100, search 200), u1@500 (test), u2@450 (test).
  EXPECT_EQ(d.examples(Task::kRec, Split::kTrain).size(), 1u);
  EXPECT_EQ(d.examples(Task::kRec, Split::kTest).size(), 2u);
  // Search examples: u1@400 (valid); u1@200 has no earlier search.
  ASSERT_EQ(d.examples(Task::kSearch, Split::kValid).size(), 1u);
  EXPECT_EQ(d.examples(Task::kSearch, Split::kValid)[0].user, u1);
  EXPECT_EQ(d.examples(Task::kSearch, Split::kTrain).size(), 0u);
  EXPECT_EQ(d.examples(Task::kSearch, Split::kTest).size(), 0u);
}

TEST(Idempotence, SameInputSameBytesAndSkip) {
  std::string dir = fresh_dir("idem");
  IngestOptions o = quick_options(dir + "/out");
  o.shard_mb = 1;  // several shards
  IngestResult first = ingest_source("lcrec", scientific(), o);
  EXPECT_FALSE(first.skipped);
  EXPECT_GT(first.shards, 1);
  auto files = dataset_files(dir + "/out");
  EXPECT_TRUE(files.count("manifest.json") && files.count("items.h5") && files.count("queries.h5") &&
              files.count("splits.h5") && files.count("shard-00000.h5"));

  IngestResult again = ingest_source("lcrec", scientific(), o);
  EXPECT_TRUE(again.skipped);
  EXPECT_EQ(again.users, first.users);
  o.force = true;
  IngestResult forced = ingest_source("lcrec", scientific(), o);
  EXPECT_FALSE(forced.skipped);
  EXPECT_EQ(dataset_files(dir + "/out"), files);  // byte-identical, manifest included

  // The manifest's checksums are those of the files.
  auto m = nlohmann::json::parse(files["manifest.json"]);
  EXPECT_TRUE(m["complete"].get<bool>());
  EXPECT_EQ(m["counts"]["users"], 8317);
  EXPECT_EQ(m["counts"]["interactions"], 2 * 58492);
  int64_t events = 0;
  for (const auto& s : m["shards"]) {
    EXPECT_EQ(s["checksum"].get<std::string>(), file_checksum(dir + "/out/" + s["file"].get<std::string>()));
    events += s["events"].get<int64_t>();
  }
  EXPECT_EQ(events, 2 * 58492);
  EXPECT_EQ(m["files"]["items.h5"].get<std::string>(), file_checksum(dir + "/out/items.h5"));
  Dataset(dir + "/out").verify();
  {  // One flipped byte in a shard is caught.
    std::string shard = dir + "/out/shard-00001.h5";
    std::string bytes = read_bytes(shard);
    bytes[bytes.size() / 2] ^= 0x5a;
    write_file(shard, bytes);
    EXPECT_THROW(Dataset(dir + "/out").verify(), InputError);
    o.force = true;
    ingest_source("lcrec", scientific(), o);
    o.force = false;
  }

  // A different config rebuilds.
  o.force = false;
  o.search_events = "none";
  o.split.min_prior_search = 0;
  IngestResult changed = ingest_source("lcrec", scientific(), o);
  EXPECT_FALSE(changed.skipped);
  EXPECT_NE(changed.config_hash, first.config_hash);
  EXPECT_EQ(Dataset(dir + "/out").num_search_events(), 0);
}

TEST(Idempotence, ShardingDoesNotChangeContent) {
  std::string dir = fresh_dir("sharding");
  IngestOptions a = quick_options(dir + "/a");
  IngestOptions b = quick_options(dir + "/b");
  b.shard_mb = 1;
  b.buckets = 17;
  ingest_source("lcrec", scientific(), a);
  ingest_source("lcrec", scientific(), b);
  Dataset da(dir + "/a"), db(dir + "/b");
  EXPECT_EQ(da.num_shards(), 1);
  EXPECT_GT(db.num_shards(), 1);
  std::map<std::string, std::vector<std::tuple<int32_t, int64_t, int, int32_t>>> ua, ub;
  auto collect = [](auto& out) {
    return [&out](int32_t, std::string_view key, const std::vector<Event>& ev) {
      auto& v = out[std::string(key)];
      for (const auto& e : ev) v.emplace_back(e.item, e.position, static_cast<int>(e.kind), e.query);
    };
  };
  da.for_each_user(collect(ua));
  db.for_each_user(collect(ub));
  EXPECT_EQ(ua, ub);
  for (Task t : {Task::kRec, Task::kSearch})
    EXPECT_EQ(da.examples(t, Split::kTest).size(), db.examples(t, Split::kTest).size());
}

TEST(Candidates, WrittenByIngestAndListed) {
  std::string dir = fresh_dir("cands");
  write_file(dir + "/T.item.json", R"({
  "0": {"title": "Red pen", "categories": "Office,Pens"},
  "1": {"title": "Blue pen", "categories": "Office,Pens"},
  "2": {"title": "Stapler", "categories": "Office,Staplers"},
  "3": {"title": "Paper", "categories": "Office,Paper"},
  "4": {"title": "Glue", "categories": "Office,Glue"}
})");
  write_file(dir + "/T.inter.json", R"({"u1": [0, 1, 2, 3], "u2": [4, 3, 2], "u3": [1, 0, 4]})");
  IngestOptions o;
  o.out = dir + "/out";
  o.candidate_negatives = 2;
  ingest_source("lcrec", dir + "/T", o);
  auto m = nlohmann::json::parse(read_bytes(dir + "/out/manifest.json"));
  ASSERT_TRUE(m["files"].contains("candidates.h5"));
  EXPECT_EQ(m["files"]["candidates.h5"].get<std::string>(), file_checksum(dir + "/out/candidates.h5"));
}
