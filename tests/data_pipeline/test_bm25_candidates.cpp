// BM25 against hand-computed scores, and the fixed evaluation candidates' invariants on a synthetic
// log and on the real Amazon Scientific dataset (ingested through the ingest API into a temp dir).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <unistd.h>

#include "core/common/check.h"
#include "data_pipeline/bm25.h"
#include "data_pipeline/candidates.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/readers/reader_factory.h"
#include "data_pipeline/readers/synthetic_reader.h"

namespace gensar::data {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- BM25

TEST(Bm25, TokenizerLowercasesAlnumRunsAndKeepsUtf8) {
  EXPECT_EQ(bm25_tokenize("Hello, World! 3M-tape Caf\xc3\xa9  x"),
            (std::vector<std::string>{"hello", "world", "3m", "tape", "caf\xc3\xa9", "x"}));
  EXPECT_TRUE(bm25_tokenize(" ,.;- ").empty());
  EXPECT_EQ(bm25_item_document("T", "", "B", "C, D"), "T B C, D");
}

// The paper's reference indexes title + description; "all" adds brand and categories.
TEST(Bm25, DocumentFieldsFollowTheChosenVariant) {
  EXPECT_EQ(bm25_item_document("T", "desc", "B", "C, D", Bm25Fields::kTitleDescription), "T desc");
  EXPECT_EQ(bm25_item_document("T", "desc", "B", "C, D", Bm25Fields::kAllFields), "T desc B C, D");
  EXPECT_EQ(parse_bm25_fields("title-description"), Bm25Fields::kTitleDescription);
  EXPECT_EQ(parse_bm25_fields("all"), Bm25Fields::kAllFields);
  EXPECT_STREQ(bm25_fields_name(Bm25Fields::kTitleDescription), "title-description");
  EXPECT_THROW(parse_bm25_fields("title"), gensar::InputError);
}

// Corpus: d0 "apple banana apple" (3 tokens), d1 "Banana cherry" (2), d2 "cherry date elderberry fig" (4).
// N = 3, avgdl = 3, df(apple) = 1, df(banana) = df(cherry) = 2, k1 = 1.2, b = 0.75.
// idf(apple) = ln(1 + 2.5/1.5) = ln(8/3); idf(cherry) = ln(1 + 1.5/2.5) = ln(1.6).
// length norms k1 (1 - b + b |d| / avgdl): d0 1.2, d1 0.9, d2 1.5.
TEST(Bm25, ScoresMatchTheFormulaOnAHandComputedCorpus) {
  Bm25Index index;
  EXPECT_EQ(index.add("apple banana apple"), 0u);
  EXPECT_EQ(index.add("Banana cherry"), 1u);
  EXPECT_EQ(index.add("cherry date elderberry fig"), 2u);
  EXPECT_DOUBLE_EQ(index.average_length(), 3.0);
  EXPECT_EQ(index.document_frequency("banana"), 2u);
  EXPECT_NEAR(index.idf("apple"), std::log(8.0 / 3.0), 1e-12);

  const double d0 = std::log(8.0 / 3.0) * 2 * 2.2 / (2 + 1.2);  // apple, tf 2
  const double d1 = std::log(1.6) * 1 * 2.2 / (1 + 0.9);        // cherry, tf 1
  const double d2 = std::log(1.6) * 1 * 2.2 / (1 + 1.5);        // cherry, tf 1
  EXPECT_NEAR(index.score("apple cherry", 0), d0, 1e-12);
  EXPECT_NEAR(index.score("apple cherry", 1), d1, 1e-12);
  EXPECT_NEAR(index.score("APPLE, cherry!", 2), d2, 1e-12);
  EXPECT_NEAR(index.score("cherry cherry", 1), 2 * d1, 1e-12);  // repeated query terms count
  EXPECT_EQ(index.score("zebra", 0), 0.0);

  auto hits = index.top_k("apple cherry", 10);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].doc, 0u);
  EXPECT_EQ(hits[1].doc, 1u);
  EXPECT_EQ(hits[2].doc, 2u);
  EXPECT_NEAR(hits[0].score, d0, 1e-12);
  EXPECT_NEAR(hits[2].score, d2, 1e-12);
  hits = index.top_k("apple cherry", 2, {0});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].doc, 1u);
  EXPECT_EQ(hits[1].doc, 2u);
  EXPECT_TRUE(index.top_k("zebra", 5).empty());

  // b = 0 removes length normalisation: tf / (tf + k1).
  Bm25Index flat(Bm25Params{2.0, 0.0});
  flat.add("a b");
  flat.add("a a a a c");
  EXPECT_NEAR(flat.score("a", 1), std::log(1 + 0.5 / 2.5) * 4 * 3.0 / (4 + 2.0), 1e-12);
  EXPECT_THROW(Bm25Index(Bm25Params{1.2, 1.5}), InputError);
}

TEST(Bm25, TopKAgreesWithExhaustiveScoring) {
  SyntheticOptions o;
  o.users = 1;
  o.items = 800;
  struct ItemSink : RawSink {
    std::vector<RawItem> items;
    void item(RawItem&& i) override { items.push_back(std::move(i)); }
    void event(RawEvent&&) override {}
  } sink;
  make_synthetic_reader(o)->read(sink);
  Bm25Index index;
  for (const auto& it : sink.items) index.add(bm25_item_document(it.title, it.description, it.brand, it.categories));
  for (int q = 0; q < 20; ++q) {
    const auto& it = sink.items[q * 37];
    const std::string query = bm25_tokenize(it.title)[1] + " " + bm25_tokenize(it.categories).back();
    auto hits = index.top_k(query, 15, {static_cast<uint32_t>(q * 37)});
    std::vector<Bm25Hit> all;
    for (uint32_t d = 0; d < index.size(); ++d) {
      double s = index.score(query, d);
      if (s > 0 && d != static_cast<uint32_t>(q * 37)) all.push_back({d, s});
    }
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.score > b.score || (a.score == b.score && a.doc < b.doc); });
    ASSERT_EQ(hits.size(), std::min<size_t>(15, all.size()));
    for (size_t k = 0; k < hits.size(); ++k) {
      EXPECT_EQ(hits[k].doc, all[k].doc) << query;
      EXPECT_NEAR(hits[k].score, all[k].score, 1e-9);
    }
  }
}

// ---------------------------------------------------------------- candidates

class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = (fs::temp_directory_path() / ("gensar-cand-" + tag + "-" + std::to_string(::getpid()))).string();
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ingest_into(const std::string& out, RawReader& reader, int negatives) {
  IngestOptions o;
  o.out = out;
  o.candidate_negatives = negatives;
  o.memory_budget_mb = 256;
  o.buckets = 8;
  auto comm = single_ingest_comm();
  ingest(reader, o, *comm);
  return out;
}

// Checks every invariant of the protocol; counts the rows checked into *rows.
void check_candidates(const std::string& dir, int negatives, const CandidateOptions& options, size_t* rows_out) {
  Dataset ds(dir);
  EvalCandidates cands = load_eval_candidates(dir);
  EXPECT_EQ(cands.negatives(), negatives);
  Bm25Index bm25(Bm25Params{options.bm25_k1, options.bm25_b});
  for (int32_t i = 0; i < ds.num_items(); ++i)
    bm25.add(bm25_item_document(ds.item_title(i), ds.item_description(i), ds.item_brand(i), ds.item_categories(i),
                                options.bm25_fields));
  size_t rows = 0, bm25_rows_checked = 0;
  for (Task task : {Task::kRec, Task::kSearch}) {
    for (Split split : {Split::kValid, Split::kTest}) {
      const auto& examples = ds.examples(task, split);
      EXPECT_EQ(cands.size(task, split), examples.size());
      EXPECT_GT(examples.size(), 0u);
      for (size_t k = 0; k < examples.size(); ++k) {
        auto row = cands.row(task, split, k);
        EXPECT_EQ(row.user, examples[k].user);
        EXPECT_EQ(row.event_index, examples[k].event_index);
        const auto events = ds.events(row.user);
        const Event& target = events[row.event_index];
        ASSERT_EQ(row.target(), target.item);
        ASSERT_EQ(row.size, negatives + 1) << "(users here have far fewer items than the catalogue)";
        std::set<int32_t> history;
        for (const Event& e : events) history.insert(e.item);
        std::set<int32_t> seen;
        for (int32_t j = 1; j < row.size; ++j) {
          const int32_t item = row.items[j];
          ASSERT_TRUE(item >= 0 && item < ds.num_items());
          ASSERT_NE(item, row.target()) << "target among its negatives";
          ASSERT_TRUE(seen.insert(item).second) << "duplicate negative";
          if (task == Task::kRec) {
            ASSERT_FALSE(history.count(item)) << "rec negative in the user's history";
          }
        }
        if (task == Task::kSearch && bm25_rows_checked < 300) {
          ++bm25_rows_checked;
          // The search negatives start with the BM25 ranking of the query, target excluded.
          auto hits = bm25.top_k(ds.query_text(target.query), negatives, {static_cast<uint32_t>(target.item)});
          for (size_t j = 0; j < hits.size(); ++j) ASSERT_EQ(static_cast<uint32_t>(row.items[1 + j]), hits[j].doc);
          for (int32_t j = 1 + static_cast<int32_t>(hits.size()); j < row.size; ++j)
            ASSERT_FALSE(history.count(row.items[j])) << "popularity fill-up in the user's history";
        }
        ++rows;
      }
    }
  }
  *rows_out = rows;
}

void expect_same_candidates(const EvalCandidates& a, const EvalCandidates& b) {
  for (Task task : {Task::kRec, Task::kSearch}) {
    for (Split split : {Split::kValid, Split::kTest}) {
      ASSERT_EQ(a.size(task, split), b.size(task, split));
      for (size_t k = 0; k < a.size(task, split); ++k) {
        auto ra = a.row(task, split, k), rb = b.row(task, split, k);
        ASSERT_EQ(std::vector<int32_t>(ra.items, ra.items + ra.size), std::vector<int32_t>(rb.items, rb.items + rb.size));
      }
    }
  }
}

TEST(EvalCandidates, SyntheticLogInvariantsAndDeterminism) {
  TempDir tmp("synthetic");
  SyntheticOptions so;
  so.users = 400;
  so.items = 600;
  so.seed = 3;
  auto reader = make_synthetic_reader(so);
  const std::string dir = ingest_into(tmp.path("ds"), *reader, 20);
  CandidateOptions co;
  co.negatives = 20;
  co.seed = 2025;  // ingest's default seed
  size_t rows = 0;
  check_candidates(dir, 20, co, &rows);
  EXPECT_GT(rows, 100u);
  const EvalCandidates first = load_eval_candidates(dir);

  // Rewriting with another thread count gives the same file, byte for byte (ingest checksums it);
  // another seed changes rec negatives.
  auto file_bytes = [&] {
    std::ifstream in(dir + "/candidates.h5", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string bytes = file_bytes();
  co.threads = 2;
  write_eval_candidates(dir, co);
  expect_same_candidates(first, load_eval_candidates(dir));
  EXPECT_TRUE(bytes == file_bytes());
  co.seed = 99;
  write_eval_candidates(dir, co);
  const EvalCandidates other = load_eval_candidates(dir);
  size_t differing = 0;
  for (size_t k = 0; k < first.size(Task::kRec, Split::kTest); ++k) {
    auto a = first.row(Task::kRec, Split::kTest, k), b = other.row(Task::kRec, Split::kTest, k);
    differing += !std::equal(a.items, a.items + a.size, b.items);
  }
  EXPECT_GT(differing, first.size(Task::kRec, Split::kTest) / 2);

  // Smoothing + power 0 = uniform: still never the user's items.
  co.popularity_power = 0.0;
  co.popularity_smoothing = 1.0;
  write_eval_candidates(dir, co);
  check_candidates(dir, 20, co, &rows);
  co.negatives = 0;
  EXPECT_THROW(write_eval_candidates(dir, co), InputError);
}

TEST(EvalCandidates, RealScientificDataset) {
  const std::string source = std::string(GENSAR_DATASETS_DIR) + "/amazon18-scientific/Scientific";
  if (!fs::exists(source + ".inter.json")) GTEST_SKIP() << "no " << source;
  TempDir tmp("scientific");
  auto reader = make_reader({"lcrec", source, ""});
  auto start = std::chrono::steady_clock::now();
  const std::string dir = ingest_into(tmp.path("ds"), *reader, 99);
  std::printf("scientific: ingest + candidates %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  CandidateOptions co;
  size_t rows = 0;
  check_candidates(dir, 99, co, &rows);
  std::printf("scientific: %zu candidate rows checked\n", rows);
  EXPECT_GT(rows, 4u * 8000u);  // every user has rec and search valid/test examples by default
  const EvalCandidates first = load_eval_candidates(dir);
  start = std::chrono::steady_clock::now();
  write_eval_candidates(dir, co);
  std::printf("scientific: write_eval_candidates %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  expect_same_candidates(first, load_eval_candidates(dir));
}

TEST(EvalCandidates, MissingFileIsAnInputError) {
  TempDir tmp("missing");
  EXPECT_THROW(load_eval_candidates(tmp.path("nothing")), InputError);
}

}  // namespace
}  // namespace gensar::data
