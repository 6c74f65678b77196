// Helpers for the ingest tests: a fresh temporary directory per test, files written by the test,
// and a one-call ingest on a single process.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data_pipeline/ingest.h"
#include "data_pipeline/readers/reader_factory.h"

namespace gensar::data::testing {

namespace fs = std::filesystem;

// Directories made by fresh_dir, removed when the test binary exits.
struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};
inline TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

inline std::string fresh_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) /
                 ("gensar-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  temp_dirs().dirs.push_back(dir);
  return dir.string();
}

inline std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline IngestOptions quick_options(const std::string& out) {
  IngestOptions o;
  o.out = out;
  o.candidates = false;  // candidates have their own tests; they dominate ingest time
  return o;
}

inline IngestResult ingest_source(const std::string& format, const std::string& input,
                                  const IngestOptions& options) {
  auto reader = make_reader(ReaderSpec{format, input, ""});
  auto comm = single_ingest_comm();
  IngestOptions o = options;
  if (format != "synthetic") o.input_fingerprint = fingerprint_input(input);
  return ingest(*reader, o, *comm);
}

inline std::string datasets_dir() { return GENSAR_DATASETS_DIR; }

// Every file of a dataset directory, name -> bytes.
inline std::map<std::string, std::string> dataset_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    files[e.path().filename().string()] = read_bytes(e.path().string());
  return files;
}

}  // namespace gensar::data::testing
