// Generic event-log TSV: what an industrial user exports from their search and recommendation logs.
//   events TSV, header `user item timestamp kind query` (any column order, extra columns ignored),
//     kind = rec|search, query = the search text (empty for rec events);
//   items TSV, header `item title description brand categories`.
// Fields are tab-separated and escaped with \t \n \r \\ (a literal tab or newline cannot occur in a
// field by construction). Items are streamed first, then events, both in file order.
// Format and error rules: docs/readers-extra.md.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data_pipeline/raw_log.h"

namespace gensar::data {

struct TsvLogOptions {
  std::string events_path;  // events TSV (required)
  std::string items_path;   // items TSV (required)
};

std::unique_ptr<RawReader> make_tsv_reader(const TsvLogOptions& options);

// Splits one line at tabs (no unescaping); a trailing '\r' (CRLF files) is dropped first.
std::vector<std::string_view> split_tab_fields(std::string_view line);

// Undoes the \t \n \r \\ escapes; any other backslash sequence throws InputError naming `where`.
std::string unescape_tsv_field(std::string_view field, const SourceLocation& where);

}  // namespace gensar::data
