#include "core/rqvae/decollide.h"

#include <cstring>
#include <string>
#include <unordered_map>

#include "core/common/check.h"

namespace gensar::rqvae {

int64_t group_rows(const std::vector<int32_t>& ids, size_t length, std::vector<int64_t>* group_of) {
  GENSAR_CHECK(length > 0 && ids.size() % length == 0, "{} codes are not rows of {}", ids.size(), length);
  size_t rows = ids.size() / length;
  std::unordered_map<std::string, int64_t> index;
  index.reserve(rows * 2);
  group_of->assign(rows, 0);
  std::string key(length * sizeof(int32_t), '\0');
  for (size_t i = 0; i < rows; ++i) {
    std::memcpy(key.data(), ids.data() + i * length, key.size());
    auto [it, fresh] = index.emplace(key, static_cast<int64_t>(index.size()));
    (*group_of)[i] = it->second;
  }
  return static_cast<int64_t>(index.size());
}

double collision_rate(const std::vector<int32_t>& ids, size_t length) {
  if (ids.empty()) return 0;
  std::vector<int64_t> group;
  int64_t groups = group_rows(ids, length, &group);
  return 1.0 - static_cast<double>(groups) / static_cast<double>(ids.size() / length);
}

DecollideStats decollide(std::vector<int32_t>& ids, size_t& length, int max_rounds,
                         const LastLevelReassigner& reassign) {
  DecollideStats stats;
  size_t rows = length ? ids.size() / length : 0;
  stats.rate_before = collision_rate(ids, length);
  std::vector<int64_t> group;
  for (int round = 0; reassign && round < max_rounds; ++round) {
    int64_t groups = group_rows(ids, length, &group);
    if (static_cast<size_t>(groups) == rows) break;
    std::vector<int64_t> size(groups, 0);
    for (int64_t g : group) ++size[g];
    // Colliding items, with their groups renumbered densely.
    std::vector<int64_t> items, dense_group;
    std::unordered_map<int64_t, int64_t> dense;
    for (size_t i = 0; i < rows; ++i) {
      if (size[group[i]] < 2) continue;
      auto [it, fresh] = dense.emplace(group[i], static_cast<int64_t>(dense.size()));
      items.push_back(static_cast<int64_t>(i));
      dense_group.push_back(it->second);
    }
    std::vector<int32_t> codes = reassign(items, dense_group, static_cast<int64_t>(dense.size()));
    GENSAR_CHECK(codes.size() == items.size(), "re-assigner gave {} codes for {} items", codes.size(),
                 items.size());
    bool changed = false;
    for (size_t j = 0; j < items.size(); ++j) {
      int32_t& slot = ids[items[j] * length + length - 1];
      changed |= slot != codes[j];
      slot = codes[j];
    }
    stats.rounds = round + 1;
    if (!changed) break;
  }
  stats.rate_after_rounds = collision_rate(ids, length);
  stats.rate_after = stats.rate_after_rounds;
  if (stats.rate_after_rounds == 0) return stats;
  // Suffix: position within the group, in row order.
  group_rows(ids, length, &group);
  std::unordered_map<int64_t, int32_t> seen;
  std::vector<int32_t> widened(rows * (length + 1));
  for (size_t i = 0; i < rows; ++i) {
    std::copy(ids.begin() + i * length, ids.begin() + (i + 1) * length, widened.begin() + i * (length + 1));
    int32_t suffix = seen[group[i]]++;
    widened[i * (length + 1) + length] = suffix;
    if (suffix > 0) ++stats.suffixed_items;
    stats.suffix_codes = std::max(stats.suffix_codes, suffix + 1);
  }
  ids.swap(widened);
  ++length;
  stats.rate_after = collision_rate(ids, length);
  GENSAR_CHECK(stats.rate_after == 0, "identifiers still collide after the suffix");
  return stats;
}

}  // namespace gensar::rqvae
