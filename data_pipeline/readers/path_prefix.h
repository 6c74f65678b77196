// Readers take a path prefix (".../Scientific") or a directory holding one file that ends in
// `marker` (".inter.json", "_item2attributes.json"): both name the same files.
#pragma once

#include <string>

namespace gensar::data {

// Returns the prefix (path without `marker`). Throws InputError when a directory holds none or
// several candidates, or when PREFIX+marker does not exist.
std::string resolve_prefix(const std::string& input, const std::string& marker,
                           const std::string& format);

}  // namespace gensar::data
