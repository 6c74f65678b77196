// Whole-file reads (configs, stamps, manifests, tokenizer models). Writes go through
// core/common/atomic_file.h.
#pragma once

#include <string>

namespace gensar {

// The file's bytes; InputError "cannot read <path>" when it cannot be opened.
std::string read_file(const std::string& path);

}  // namespace gensar
