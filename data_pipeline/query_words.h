// Queries for sources without them (Ai et al. 2017; ../shared/datasets/README.md): the words of the
// item's category path, lower-cased, split at anything that is not a letter or digit, stop words
// and repeated words dropped, joined by single spaces in first-seen order.
#pragma once

#include <string>
#include <string_view>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

std::string query_from_text(std::string_view text);
// The category path; items without categories fall back to their title.
std::string query_for_item(const RawItem& item);
bool is_stop_word(std::string_view word);

}  // namespace gensar::data
