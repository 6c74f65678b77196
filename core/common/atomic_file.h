// Whole-file writes that are never seen half-written: write a temporary file beside the target,
// fsync it, rename it over the target, fsync the directory. Every write, the fsync and the close
// are checked: a full disk throws gensar::Error naming the file (one line) and removes the
// temporary file, so the target is either the old file or the complete new one.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace gensar {

void write_file_atomically(const std::string& path, const std::string& content);
// The same for content produced in pieces: `produce` calls its argument with each piece.
using ByteSink = std::function<void(const void* data, size_t size)>;
void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce);
// For files a library writes by name (HDF5): `write` creates the file at the temporary path it is
// given; an exception from it removes that file and propagates.
void replace_file_atomically(const std::string& path, const std::function<void(const std::string& temp)>& write);

// fsync of a file or directory, best effort (what a rename needs to survive a crash).
void fsync_path(const std::string& path, bool directory);

}  // namespace gensar
