// RecBole atomic files: PREFIX.inter (+ optional PREFIX.item), tab-separated, first line
// `name:type` per column with type token | token_seq | float | float_seq.
// .inter: the user, item and (optional) timestamp columns are mapped; every other column
// (rating, review text, ...) is ignored. .item: item id plus whichever text columns exist
// (title, description, brand, categories and their common aliases); unknown columns ignored.
// Without a .item file, every item seen in .inter is emitted with empty text (one extra pass).
// Exact mapping: docs/readers-extra.md.
#pragma once

#include <memory>
#include <string>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

struct RecboleOptions {
  // Path prefix of the atomic files: PREFIX.inter, PREFIX.item. A directory D stands for D/basename(D)
  // (RecBole's own layout: dataset/ml-1m/ml-1m.inter).
  std::string prefix;
  std::string user_field = "user_id";     // .inter column names, without the ":type" suffix
  std::string item_field = "item_id";
  std::string time_field = "timestamp";   // optional: absent column -> timestamps -1
};

std::unique_ptr<RawReader> make_recbole_reader(const RecboleOptions& options);

}  // namespace gensar::data
