#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <limits>

#include "core/common/check.h"
#include "core/common/h5.h"
#include "core/rqvae/embedding_table.h"
#include "core/rqvae/identifiers.h"

using namespace gensar::rqvae;

namespace {

ItemIdentifiers small_ids() {
  ItemIdentifiers ids;
  ids.item_keys = {"a", "b", "c"};
  ids.sem_levels = {{"s_a", 4, true}, {"s_b", 4, true}, {"sem_a", 3, false}, {"sem_b", 3, false}};
  ids.col_levels = {{"s_a", 4, true}, {"s_b", 4, true}, {"col_a", 2, false}, {"col_b", 2, false},
                    {"sfx", 2, false}};
  ids.sem_ids = {0, 1, 2, 0, 3, 3, 1, 1, 1, 0, 0, 2};
  ids.col_ids = {0, 1, 1, 1, 0, 3, 3, 0, 0, 0, 1, 0, 0, 0, 1};
  ids.config_hash = "00ff";
  return ids;
}

std::string tmp(const std::string& name) { return ::testing::TempDir() + "rqvae_" + name; }

template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const gensar::InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

}  // namespace

TEST(Identifiers, TokensNameLevelAndCode) {
  ItemIdentifiers ids = small_ids();
  EXPECT_EQ(ids.sem_tokens(0), (std::vector<std::string>{"<s_a_0>", "<s_b_1>", "<sem_a_2>", "<sem_b_0>"}));
  EXPECT_EQ(ids.col_tokens(2),
            (std::vector<std::string>{"<s_a_1>", "<s_b_0>", "<col_a_0>", "<col_b_0>", "<sfx_1>"}));
  std::vector<std::string> all = ids.all_tokens();
  EXPECT_EQ(all.size(), 4u + 4 + 3 + 3 + 2 + 2 + 2);  // shared levels counted once
  EXPECT_EQ(all.front(), "<s_a_0>");
  EXPECT_EQ(all.back(), "<sfx_1>");
  EXPECT_EQ(ids.find_item("b"), 1);
  EXPECT_EQ(ids.find_item("zz"), -1);
}

// Each identifier kind counts its own suffix codes; the vocabulary must hold the larger count
// (a short index run once gave sem sfx 2 codes and col sfx 34, and training failed on <sfx_33>).
TEST(Identifiers, VocabularyTakesTheLargerSuffixCountOfBothKinds) {
  ItemIdentifiers ids;
  ids.sem_levels = {{"s_a", 4, true}, {"sem_a", 4, false}, {"sfx", 2, false}};
  ids.col_levels = {{"s_a", 4, true}, {"col_a", 4, false}, {"sfx", 34, false}};
  const auto tokens = ids.all_tokens();
  EXPECT_NE(std::find(tokens.begin(), tokens.end(), "<sfx_33>"), tokens.end());
  EXPECT_EQ(std::count_if(tokens.begin(), tokens.end(),
                          [](const std::string& t) { return t.rfind("<sfx_", 0) == 0; }),
            34);
  EXPECT_EQ(tokens.size(), 4u + 4u + 34u + 4u);  // s_a, sem_a, sfx, col_a: each once
}

TEST(Identifiers, Hdf5RoundTrip) {
  ItemIdentifiers ids = small_ids();
  save_identifiers(tmp("ids.h5"), ids);
  ItemIdentifiers back = load_identifiers(tmp("ids.h5"));
  EXPECT_EQ(back.item_keys, ids.item_keys);
  EXPECT_EQ(back.sem_ids, ids.sem_ids);
  EXPECT_EQ(back.col_ids, ids.col_ids);
  EXPECT_EQ(back.config_hash, "00ff");
  ASSERT_EQ(back.col_levels.size(), 5u);
  EXPECT_EQ(back.col_levels[4].prefix, "sfx");
  EXPECT_EQ(back.col_levels[2].codes, 2);
  EXPECT_TRUE(back.sem_levels[1].shared);
  EXPECT_FALSE(back.sem_levels[2].shared);
}

TEST(Identifiers, SharedLevelsMustAgree) {
  ItemIdentifiers ids = small_ids();
  ids.col_ids[0] = 3;  // item a: shared level 0 now differs between its two IDs
  EXPECT_THROW(ids.validate(), gensar::Error);
}

TEST(Identifiers, LoadingAnEmbeddingFileAsIdentifiersFails) {
  EmbeddingTable t{"", {"x"}, 2, {1.f, 2.f}};
  write_embedding_table(tmp("emb.h5"), t);
  EXPECT_NE(input_error_of([&] { load_identifiers(tmp("emb.h5")); }).find("not a gensar identifiers"),
            std::string::npos);
}

TEST(EmbeddingFiles, RoundTripAndAlignByKey) {
  EmbeddingTable text{"", {"i1", "i2", "i3"}, 2, {1, 2, 3, 4, 5, 6}};
  EmbeddingTable collab{"", {"i3", "i1", "i2"}, 1, {30, 10, 20}};
  write_embedding_table(tmp("t.h5"), text);
  write_embedding_table(tmp("c.h5"), collab);
  EmbeddingTable t = read_embedding_table(tmp("t.h5"));
  EmbeddingTable c = read_embedding_table(tmp("c.h5"));
  EXPECT_EQ(t.keys, text.keys);
  EXPECT_EQ(t.values, text.values);
  EmbeddingTable aligned = align_to(t, c);
  EXPECT_EQ(aligned.keys, t.keys);
  EXPECT_EQ(aligned.values, (std::vector<float>{10, 20, 30}));
}

TEST(EmbeddingFiles, MissingItemNamesFileAndItem) {
  EmbeddingTable text{"", {"i1", "i2", "i3"}, 1, {1, 2, 3}};
  EmbeddingTable collab{"", {"i1", "i3"}, 1, {1, 3}};
  write_embedding_table(tmp("t2.h5"), text);
  write_embedding_table(tmp("c2.h5"), collab);
  std::string msg = input_error_of(
      [&] { align_to(read_embedding_table(tmp("t2.h5")), read_embedding_table(tmp("c2.h5"))); });
  EXPECT_NE(msg.find(tmp("c2.h5")), std::string::npos) << msg;
  EXPECT_NE(msg.find("'i2'"), std::string::npos) << msg;
  // And the other way round: an item only the collaborative file has.
  EmbeddingTable extra{"", {"i1", "i2", "i3", "i9"}, 1, {1, 2, 3, 9}};
  write_embedding_table(tmp("c3.h5"), extra);
  msg = input_error_of(
      [&] { align_to(read_embedding_table(tmp("t2.h5")), read_embedding_table(tmp("c3.h5"))); });
  EXPECT_NE(msg.find("'i9'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(tmp("t2.h5")), std::string::npos) << msg;
}

TEST(EmbeddingFiles, NanRowNamesItem) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  EmbeddingTable text{"", {"good", "bad"}, 2, {1, 2, 3, nan}};
  write_embedding_table(tmp("nan.h5"), text);
  std::string msg = input_error_of([&] { read_embedding_table(tmp("nan.h5")); });
  EXPECT_NE(msg.find("'bad'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(tmp("nan.h5")), std::string::npos) << msg;
}

TEST(EmbeddingFiles, WrongShapesAndDuplicatesAreInputErrors) {
  {
    gensar::h5::File f = gensar::h5::File::create(tmp("rows.h5"));
    f.write_strings("item_keys", {"a", "b", "c"});
    std::vector<float> v(4, 1.f);
    f.write("embeddings", v.data(), {2, 2});  // 2 rows for 3 keys
  }
  EXPECT_NE(input_error_of([&] { read_embedding_table(tmp("rows.h5")); }).find("2 rows"),
            std::string::npos);
  {
    gensar::h5::File f = gensar::h5::File::create(tmp("flat.h5"));
    f.write_strings("item_keys", {"a", "b"});
    std::vector<float> v(2, 1.f);
    f.write("embeddings", v.data(), {2});  // 1-D
  }
  EXPECT_NE(input_error_of([&] { read_embedding_table(tmp("flat.h5")); }).find("2-D"),
            std::string::npos);
  EmbeddingTable dup{"", {"a", "a"}, 1, {1, 2}};
  write_embedding_table(tmp("dup.h5"), dup);
  EXPECT_NE(input_error_of([&] { read_embedding_table(tmp("dup.h5")); }).find("appears twice"),
            std::string::npos);
  EXPECT_NE(input_error_of([&] { read_embedding_table(tmp("does-not-exist.h5")); }).find("cannot open"),
            std::string::npos);
}

TEST(EmbeddingFiles, IntegerKeysAreAccepted) {
  {
    gensar::h5::File f = gensar::h5::File::create(tmp("intkeys.h5"));
    std::vector<int32_t> keys = {5, 7};
    f.write("item_keys", keys.data(), {2});
    std::vector<float> v = {1, 2};
    f.write("embeddings", v.data(), {2, 1});
  }
  EmbeddingTable t = read_embedding_table(tmp("intkeys.h5"));
  EXPECT_EQ(t.keys, (std::vector<std::string>{"5", "7"}));
}
