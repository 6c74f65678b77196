#include <gtest/gtest.h>

#include "core/rqvae/decollide.h"

using namespace gensar::rqvae;

TEST(Decollide, CollisionRateCountsDistinctRows) {
  std::vector<int32_t> ids = {1, 2, 1, 2, 3, 4, 5, 6};  // rows (1,2) (1,2) (3,4) (5,6)
  EXPECT_DOUBLE_EQ(collision_rate(ids, 2), 0.25);
  std::vector<int64_t> group;
  EXPECT_EQ(group_rows(ids, 2, &group), 3);
  EXPECT_EQ(group, (std::vector<int64_t>{0, 0, 1, 2}));
}

TEST(Decollide, SuffixMakesEveryRowUniqueAndKeepsLengthFixed) {
  std::vector<int32_t> ids = {1, 2, 1, 2, 1, 2, 3, 4};
  size_t length = 2;
  DecollideStats s = decollide(ids, length, 20, nullptr);
  EXPECT_EQ(length, 3u);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 0, 1, 2, 1, 1, 2, 2, 3, 4, 0}));
  EXPECT_EQ(s.suffixed_items, 2);
  EXPECT_EQ(s.suffix_codes, 3);
  EXPECT_DOUBLE_EQ(s.rate_before, 0.5);
  EXPECT_DOUBLE_EQ(s.rate_after, 0.0);
}

TEST(Decollide, ReassignerResolvesGroupsWithoutSuffix) {
  std::vector<int32_t> ids = {7, 0, 7, 0, 8, 0, 8, 0, 9, 0};
  size_t length = 2;
  int calls = 0;
  // Gives each item its position inside its group (what a balanced assignment achieves).
  auto reassign = [&](const std::vector<int64_t>& items, const std::vector<int64_t>& group,
                      int64_t num_groups) {
    ++calls;
    EXPECT_EQ(items, (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(num_groups, 2);
    std::vector<int32_t> seen(num_groups, 0), codes;
    for (int64_t g : group) codes.push_back(seen[g]++);
    return codes;
  };
  DecollideStats s = decollide(ids, length, 20, reassign);
  EXPECT_EQ(length, 2u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.rounds, 1);
  EXPECT_EQ(s.suffix_codes, 0);
  EXPECT_DOUBLE_EQ(s.rate_after, 0.0);
  EXPECT_EQ(ids, (std::vector<int32_t>{7, 0, 7, 1, 8, 0, 8, 1, 9, 0}));
}
