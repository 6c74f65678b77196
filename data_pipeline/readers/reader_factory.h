// `--format` -> RawReader. lcrec and p5 are always built; recbole, tsv and synthetic when their
// readers are in the tree (compile-time check), so the verb lists what this build has.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

struct ReaderSpec {
  std::string format;  // lcrec | p5 | recbole | tsv | synthetic
  // lcrec/p5/recbole: path prefix or directory; tsv: the events TSV;
  // synthetic: "key=value,..." over SyntheticOptions (users, items, topics, clusters,
  // events_per_user, min_events, search_share, zipf_exponent, seed, ...); empty = defaults.
  std::string input;
  std::string items;   // tsv: the items TSV (default: the events path with .events.tsv -> .items.tsv)
};

std::unique_ptr<RawReader> make_reader(const ReaderSpec& spec);
std::vector<std::string> available_formats();

}  // namespace gensar::data
