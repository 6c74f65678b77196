// collab_embeddings.h5 round trip and the `file` import mode (HDF5 and .npy), bad inputs included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <limits>

#include "core/common/check.h"
#include "core/seqrec/collab_embeddings.h"

namespace gensar::seqrec {
namespace {

std::string temp(const std::string& name) { return ::testing::TempDir() + "collab_" + name; }

ItemEmbeddings sample_table() {
  ItemEmbeddings t;
  t.keys = {"B000A", "item two", "3"};
  t.dim = 2;
  t.values = {0.5f, -1.0f, 2.0f, 3.25f, -0.125f, 7.0f};
  t.config_hash = "xxh64:00112233aabbccdd";
  t.source = "sasrec";
  return t;
}

// A minimal .npy writer (version 1.0 header), as numpy.save would produce for a C-order matrix.
void write_npy(const std::string& path, const std::string& descr, int64_t rows, int64_t cols,
               const void* data, size_t bytes) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
}

TEST(CollabEmbeddings, WriteReadRoundTrip) {
  const std::string path = temp("roundtrip.h5");
  write_item_embeddings(path, sample_table());
  ItemEmbeddings back = read_item_embeddings(path);
  EXPECT_EQ(back.keys, sample_table().keys);
  EXPECT_EQ(back.dim, 2);
  EXPECT_EQ(back.values, sample_table().values);
  EXPECT_EQ(back.config_hash, "xxh64:00112233aabbccdd");
  EXPECT_EQ(back.source, "sasrec");
  std::ifstream tmp(path + ".tmp");
  EXPECT_FALSE(tmp.good()) << "the temporary file was left behind";
}

TEST(CollabEmbeddings, ImportFromHdf5ReordersToTheCatalogue) {
  const std::string path = temp("import.h5");
  write_item_embeddings(path, sample_table());
  ItemEmbeddings out = import_item_embeddings(path, "", std::vector<std::string>{"3", "B000A"});
  EXPECT_EQ(out.keys, (std::vector<std::string>{"3", "B000A"}));
  EXPECT_EQ(out.values, (std::vector<float>{-0.125f, 7.0f, 0.5f, -1.0f}));
  EXPECT_EQ(out.source, "file:" + path);
}

TEST(CollabEmbeddings, ImportFromNpyWithKeys) {
  const std::string npy = temp("m.npy"), keys = temp("m.keys");
  const double values[6] = {1, 2, 3, 4, 5, 6};
  write_npy(npy, "<f8", 3, 2, values, sizeof(values));
  write_lines(keys, {"a", "b", "c"});
  ItemEmbeddings out = import_item_embeddings(npy, keys, std::vector<std::string>{"c", "a", "b"});
  EXPECT_EQ(out.dim, 2);
  EXPECT_EQ(out.values, (std::vector<float>{5, 6, 1, 2, 3, 4}));

  const float f32[4] = {1, 2, 3, 4};
  write_npy(npy, "<f4", 2, 2, f32, sizeof(f32));
  write_lines(keys, {"a", "b"});
  EXPECT_EQ(import_item_embeddings(npy, keys, std::vector<std::string>{"b"}).values,
            (std::vector<float>{3, 4}));
}

void expect_input_error(const std::function<void()>& fn, const std::string& fragment) {
  try {
    fn();
    FAIL() << "expected an InputError mentioning '" << fragment << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(CollabEmbeddings, BadInputsGetClearErrors) {
  const std::string npy = temp("bad.npy"), keys = temp("bad.keys");
  const float f32[4] = {1, 2, 3, 4};
  write_npy(npy, "<f4", 2, 2, f32, sizeof(f32));
  write_lines(keys, {"a", "b"});
  expect_input_error([&] { import_item_embeddings(npy, keys, std::vector<std::string>{"a", "zz"}); },
                     "1 of the dataset's 2 items have no embedding (first: 'zz')");
  expect_input_error([&] { import_item_embeddings(npy, "", std::vector<std::string>{"a"}); },
                     "needs --input-keys");
  write_lines(keys, {"a", "b", "c"});
  expect_input_error([&] { import_item_embeddings(npy, keys, std::vector<std::string>{"a"}); },
                     "2 rows but");
  write_lines(keys, {"a", "a"});
  expect_input_error([&] { import_item_embeddings(npy, keys, std::vector<std::string>{"a"}); },
                     "item 'a' appears twice");
  const float with_nan[4] = {1, std::numeric_limits<float>::quiet_NaN(), 3, 4};
  write_npy(npy, "<f4", 2, 2, with_nan, sizeof(with_nan));
  write_lines(keys, {"a", "b"});
  expect_input_error([&] { import_item_embeddings(npy, keys, std::vector<std::string>{"a"}); },
                     "item 'a' (row 0) has a non-finite value at column 1");
  const int32_t ints[4] = {1, 2, 3, 4};
  write_npy(npy, "<i4", 2, 2, ints, sizeof(ints));
  expect_input_error([&] { import_item_embeddings(npy, keys, std::vector<std::string>{"a"}); },
                     "dtype '<i4' not supported");
  write_lines(temp("not.npy"), {"hello"});
  expect_input_error([&] { import_item_embeddings(temp("not.npy"), keys, std::vector<std::string>{"a"}); },
                     "not a .npy file");
  expect_input_error([&] { import_item_embeddings(temp("x.csv"), "", std::vector<std::string>{"a"}); },
                     "unknown embedding file type");
  expect_input_error([&] { read_item_embeddings(temp("missing.h5")); }, "cannot open as HDF5 file");
}

}  // namespace
}  // namespace gensar::seqrec
