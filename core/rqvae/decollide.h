// Making identifiers unique: find items that share an identifier, let a re-assigner move the last
// level of the colliding items (Sinkhorn over each colliding group), repeat, and finally append a
// TIGER-style suffix token where items still collide. Torch-free: the re-assigner is a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace gensar::rqvae {

// Group id per row of `ids` (row-major [rows x length]); rows with equal codes get equal ids,
// numbered in order of first appearance. Returns the number of groups.
int64_t group_rows(const std::vector<int32_t>& ids, size_t length, std::vector<int64_t>* group_of);

// 1 - distinct identifiers / items (0 when every identifier is unique).
double collision_rate(const std::vector<int32_t>& ids, size_t length);

// New last-level codes for `items` (row indices); `group` gives each one's colliding group, 0-based
// and dense in [0, num_groups).
using LastLevelReassigner = std::function<std::vector<int32_t>(
    const std::vector<int64_t>& items, const std::vector<int64_t>& group, int64_t num_groups)>;

struct DecollideStats {
  double rate_before = 0, rate_after_rounds = 0, rate_after = 0;
  int rounds = 0;              // re-assignment rounds run
  int64_t suffixed_items = 0;  // items whose suffix token is non-zero
  int32_t suffix_codes = 0;    // 0: no suffix level; else the suffix level's code count
};

// Runs up to `max_rounds` re-assignment rounds (skipped when `reassign` is empty), then appends a
// suffix column if anything still collides: `ids` becomes [rows x (length + 1)], the first item of
// each group (in row order) getting 0. `length` is updated.
DecollideStats decollide(std::vector<int32_t>& ids, size_t& length, int max_rounds,
                         const LastLevelReassigner& reassign);

}  // namespace gensar::rqvae
