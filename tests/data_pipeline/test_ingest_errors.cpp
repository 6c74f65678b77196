// Bad input gets an InputError naming file, line and field, and leaves no output behind.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/common/check.h"
#include "data_pipeline/dataset.h"
#include "ingest_fixtures.h"

using namespace gensar;
using namespace gensar::data;
using namespace gensar::data::testing;

namespace {

const char* kItems = R"({
  "0": {"title": "Red pen", "description": "", "brand": "Acme", "categories": "Office,Pens"},
  "1": {"title": "Blue pen", "description": "", "brand": "Acme", "categories": "Office,Pens"},
  "2": {"title": "Stapler", "description": "", "brand": "Acme", "categories": "Office,Staplers"}
})";
const char* kInter = "{\n  \"u1\": [0, 1, 2],\n  \"u2\": [2, 1]\n}\n";

// No output directory and no temporary sibling after a failed ingest.
void expect_nothing_left(const std::string& dir) {
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    EXPECT_EQ(name.find("out"), std::string::npos) << "left behind: " << name;
    ++entries;
  }
  (void)entries;
}

// Runs an ingest that must fail with an InputError whose message contains every `needle`.
void expect_input_error(const std::string& format, const std::string& input, const std::string& dir,
                        const std::vector<std::string>& needles, IngestOptions o = {}) {
  o.out = dir + "/out";
  o.candidates = false;
  try {
    ingest_source(format, input, o);
    ADD_FAILURE() << "no error for " << input;
  } catch (const InputError& e) {
    std::string what = e.what();
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << what << "\n  lacks: " << n;
  }
  expect_nothing_left(dir);
}

std::string lcrec_fixture(const std::string& dir, const std::string& items, const std::string& inter) {
  write_file(dir + "/T.item.json", items);
  write_file(dir + "/T.inter.json", inter);
  return dir + "/T";
}

}  // namespace

TEST(IngestErrors, LcrecGoodFixtureWorks) {
  std::string dir = fresh_dir("lcrec-good");
  std::string prefix = lcrec_fixture(dir, kItems, kInter);
  IngestOptions o = quick_options(dir + "/out");
  ingest_source("lcrec", prefix, o);
  Dataset d(dir + "/out");
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 3);
  EXPECT_EQ(d.num_rec_events(), 5);
  EXPECT_EQ(d.num_search_events(), 5);
  EXPECT_EQ(d.num_queries(), 2);  // "office pens", "office staplers"
  // Directory input names the same files; a trailing slash on --out names the same directory.
  ingest_source("lcrec", dir, quick_options(dir + "/out2/"));
  EXPECT_EQ(Dataset(dir + "/out2").num_rec_events(), 5);
}

TEST(IngestErrors, LcrecMalformedJson) {
  std::string dir = fresh_dir("lcrec-malformed");
  std::string prefix = lcrec_fixture(dir, kItems, "{\n  \"u1\": [0, 1,\n  \"u2\": [2]\n}\n");
  expect_input_error("lcrec", prefix, dir, {"T.inter.json:3", "malformed JSON"});
}

TEST(IngestErrors, LcrecMissingField) {
  std::string dir = fresh_dir("lcrec-missing");
  std::string items = R"({
  "0": {"title": "Red pen", "categories": "Office,Pens"},
  "1": {"description": "no title here"}
})";
  std::string prefix = lcrec_fixture(dir, items, kInter);
  expect_input_error("lcrec", prefix, dir, {"T.item.json:3", "item '1'", "'title'"});
}

TEST(IngestErrors, LcrecUnknownItem) {
  std::string dir = fresh_dir("lcrec-unknown");
  std::string prefix = lcrec_fixture(dir, kItems, "{\n  \"u1\": [0, 1],\n  \"u2\": [2, 7]\n}\n");
  expect_input_error("lcrec", prefix, dir, {"T.inter.json:3", "user 'u2'", "unknown item '7'"});
}

TEST(IngestErrors, LcrecEmptyFile) {
  std::string dir = fresh_dir("lcrec-empty");
  std::string prefix = lcrec_fixture(dir, kItems, "");
  expect_input_error("lcrec", prefix, dir, {"T.inter.json:1", "empty file"});
}

TEST(IngestErrors, LcrecWrongShape) {
  std::string dir = fresh_dir("lcrec-shape");
  std::string prefix = lcrec_fixture(dir, kItems, "{\n  \"u1\": 5\n}\n");
  expect_input_error("lcrec", prefix, dir, {"T.inter.json:2", "user 'u1'", "not an array"});
}

TEST(IngestErrors, LcrecMissingFiles) {
  std::string dir = fresh_dir("lcrec-nofile");
  expect_input_error("lcrec", dir + "/Nothing", dir, {"Nothing.inter.json", "no such file"});
}

namespace {

std::string p5_fixture(const std::string& dir, const std::string& txt,
                       const std::string& maps = R"({
  "id2item": {"1": "A1", "2": "A2", "3": "A3"},
  "id2user": {"1": "U1", "2": "U2"},
  "id2attribute": {"1": "Skin Care", "2": "Face", "3": "Nivea"}
})") {
  write_file(dir + "/Toys_and_Games_item2attributes.json", R"({"1": [1, 2], "2": [1, 3], "3": [3]})");
  write_file(dir + "/Toys_and_Games_datamaps.json", maps);
  write_file(dir + "/Toys_and_Games.txt", txt);
  return dir + "/Toys_and_Games";
}

}  // namespace

TEST(IngestErrors, P5GoodFixtureWorks) {
  std::string dir = fresh_dir("p5-good");
  std::string prefix = p5_fixture(dir, "1 1 2 3\n2 3 1\n");
  ingest_source("p5", prefix, quick_options(dir + "/out"));
  Dataset d(dir + "/out");
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 3);
  EXPECT_EQ(d.num_rec_events(), 5);
  EXPECT_EQ(d.item_key(0), "A1");
  EXPECT_EQ(d.item_categories(0), "Skin Care, Face");
  EXPECT_EQ(d.item_categories(2), "Nivea");
  EXPECT_EQ(d.user_key(0), "U1");
}

TEST(IngestErrors, P5LineWithoutItems) {
  std::string dir = fresh_dir("p5-noitems");
  std::string prefix = p5_fixture(dir, "1 1 2 3\n2\n");
  expect_input_error("p5", prefix, dir, {"Toys_and_Games.txt:2", "field 'items'"});
}

TEST(IngestErrors, P5UnknownItem) {
  std::string dir = fresh_dir("p5-unknown");
  std::string prefix = p5_fixture(dir, "1 1 2 3\n2 3 9\n");
  expect_input_error("p5", prefix, dir, {"Toys_and_Games.txt:2", "field 'item'", "unknown item '9'"});
}

TEST(IngestErrors, P5EmptyFile) {
  std::string dir = fresh_dir("p5-empty");
  std::string prefix = p5_fixture(dir, "");
  expect_input_error("p5", prefix, dir, {"Toys_and_Games.txt:1", "empty file"});
}

TEST(IngestErrors, P5MalformedDatamaps) {
  std::string dir = fresh_dir("p5-malformed");
  std::string prefix = p5_fixture(dir, "1 1 2\n", "{\n  \"id2item\": {\"1\": \"A1\"\n");
  expect_input_error("p5", prefix, dir, {"Toys_and_Games_datamaps.json", "malformed JSON"});
}

// The S3-Rec release of the same sets: NAME.txt + NAME_item2attributes.json, no datamaps.
// Item 4 is only in the .txt (no attributes, so no search event); ids "03" and "3" are one item.
std::string s3rec_fixture(const std::string& dir, const std::string& txt) {
  write_file(dir + "/Sports_and_Outdoors_item2attributes.json",
             "{\"1\": [5, 7],\n \"2\": [\"7\"],\n \"3\": [9]}\n");
  write_file(dir + "/Sports_and_Outdoors.txt", txt);
  return dir + "/Sports_and_Outdoors";
}

TEST(IngestErrors, P5WithoutDatamapsKeysByIdAndWarns) {
  std::string dir = fresh_dir("p5-s3rec");
  std::string prefix = s3rec_fixture(dir, "1 1 2 3\n2 03 4 1\n\n3 2 4\n");
  ::testing::internal::CaptureStderr();
  ingest_source("p5", dir, quick_options(dir + "/out"));  // directory input finds the same files
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("Sports_and_Outdoors_datamaps.json not found"), std::string::npos) << log;
  EXPECT_NE(log.find("opaque tokens"), std::string::npos) << log;
  EXPECT_NE(log.find("4 items, 1 of them only in"), std::string::npos) << log;
  Dataset d(dir + "/out");
  EXPECT_EQ(d.num_users(), 3);
  EXPECT_EQ(d.num_items(), 4);
  EXPECT_EQ(d.num_rec_events(), 8);
  EXPECT_EQ(d.num_search_events(), 6);  // item 4's two clicks have no words to search with
  EXPECT_EQ(d.num_queries(), 3);        // "attr5 attr7", "attr7", "attr9"
  for (int32_t i = 0; i < 4; ++i) EXPECT_EQ(d.item_key(i), std::to_string(i + 1));
  EXPECT_EQ(d.item_categories(0), "attr5, attr7");
  EXPECT_EQ(d.item_categories(1), "attr7");
  EXPECT_EQ(d.item_categories(3), "");
  std::set<std::string> queries;
  for (int32_t q = 0; q < d.num_queries(); ++q) queries.insert(std::string(d.query_text(q)));
  EXPECT_EQ(queries, (std::set<std::string>{"attr5 attr7", "attr7", "attr9"}));
  std::map<std::string, size_t> events_of;
  d.for_each_user([&](int32_t, std::string_view key, const std::vector<Event>& events) {
    events_of[std::string(key)] = events.size();
  });
  EXPECT_EQ(events_of, (std::map<std::string, size_t>{{"1", 6}, {"2", 5}, {"3", 3}}));
}

TEST(IngestErrors, P5WithoutDatamapsBadItemId) {
  std::string dir = fresh_dir("p5-s3rec-bad");
  std::string prefix = s3rec_fixture(dir, "1 1 2\n2 3 B00X\n");
  expect_input_error("p5", prefix, dir, {"Sports_and_Outdoors.txt:2", "field 'item' 2", "'B00X'"});
}

TEST(IngestErrors, P5WithoutDatamapsBadAttribute) {
  std::string dir = fresh_dir("p5-s3rec-attr");
  std::string prefix = s3rec_fixture(dir, "1 1 2\n");
  write_file(prefix + "_item2attributes.json", "{\"1\": [5],\n \"2\": [\"red\"]}\n");
  expect_input_error("p5", prefix, dir,
                     {"Sports_and_Outdoors_item2attributes.json:2", "item '2'", "'red'"});
}

TEST(IngestErrors, P5MissingDatamapsField) {
  std::string dir = fresh_dir("p5-nofield");
  std::string prefix = p5_fixture(dir, "1 1 2\n", R"({"id2item": {"1": "A1", "2": "A2", "3": "A3"}})");
  expect_input_error("p5", prefix, dir, {"Toys_and_Games_datamaps.json:1", "'id2attribute'"});
}

TEST(IngestErrors, BadOptions) {
  std::string dir = fresh_dir("options");
  std::string prefix = lcrec_fixture(dir, kItems, kInter);
  IngestOptions o;
  o.search_events = "sometimes";
  expect_input_error("lcrec", prefix, dir, {"--search-events", "sometimes"}, o);
  o = IngestOptions{};
  o.split.protocol = "temporal";
  expect_input_error("lcrec", prefix, dir, {"--test-start"}, o);
  EXPECT_THROW(make_reader(ReaderSpec{"parquet", prefix, ""}), InputError);
}

// A failure after the source was read (here: temporal split on a log without timestamps, found
// while building shards) leaves no output, and an existing dataset untouched.
TEST(IngestErrors, LateFailureKeepsPreviousOutput) {
  std::string dir = fresh_dir("late");
  std::string prefix = lcrec_fixture(dir, kItems, kInter);
  IngestOptions o;
  o.split.protocol = "temporal";
  o.split.test_start = 100;
  expect_input_error("lcrec", prefix, dir, {"timestamps"}, o);

  ingest_source("lcrec", prefix, quick_options(dir + "/out"));
  auto before = dataset_files(dir + "/out");
  o.out = dir + "/out";
  o.candidates = false;
  EXPECT_THROW(ingest_source("lcrec", prefix, o), InputError);
  EXPECT_EQ(dataset_files(dir + "/out"), before);
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos);
}
