// P5 / S3-Rec (docs/ingest.md): PREFIX.txt lines `user item item ...` (ids, chronological, no
// timestamps), PREFIX_item2attributes.json `{"item id": [attribute ids]}` and PREFIX_datamaps.json
// (`id2item` item id -> ASIN, `id2user`, `id2attribute` attribute id -> name). Item keys are the
// ASINs, user keys the reviewer ids (the line's id when id2user lacks it). The files do not say
// which attribute is a brand: every attribute name goes to `categories`, in the listed order.
// Without PREFIX_datamaps.json (the S3-Rec releases ship none) the numeric ids are the keys and
// the attribute ids become category words "attrN", with a warning: queries derived from them are
// opaque tokens.
#pragma once

#include <memory>
#include <string>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

// `input`: the prefix (".../Beauty", ".../Sports_and_Outdoors") or a directory holding exactly one
// *_item2attributes.json.
std::unique_ptr<RawReader> make_p5_reader(const std::string& input);

}  // namespace gensar::data
