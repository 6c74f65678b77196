// LC-Rec JSON (docs/ingest.md): PREFIX.inter.json `{"user": [item, ...]}` in chronological order,
// no timestamps; PREFIX.item.json `{"item": {"title", "description", "brand", "categories"}}` with
// categories a comma-separated path. Events get timestamp -1 and position = index in the list.
#pragma once

#include <memory>
#include <string>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

// `input`: the path prefix (".../Scientific") or a directory holding exactly one *.inter.json.
std::unique_ptr<RawReader> make_lcrec_reader(const std::string& input);

}  // namespace gensar::data
