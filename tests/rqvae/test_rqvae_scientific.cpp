// Uniqueness on the real Amazon 2018 Scientific catalogue (4,344 items). Inputs are built here
// quickly and deterministically: semantic = hashed bag of words over title + description + brand +
// categories; collaborative = random projection of each item's co-occurrence row (items clicked by
// the same users). Both go through the HDF5 embedding files like embed-text/embed-collab output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "core/rqvae/embedding_table.h"
#include "core/rqvae/rqvae_trainer.h"

using namespace gensar::rqvae;

namespace {

const std::string kDir = std::string(GENSAR_DATASETS_DIR) + "/amazon18-scientific/";

uint64_t hash_word(const std::string& w) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : w) h = (h ^ c) * 1099511628211ull;
  return h;
}

void l2_normalise(float* v, int64_t dim) {
  double s = 0;
  for (int64_t j = 0; j < dim; ++j) s += double(v[j]) * v[j];
  s = std::sqrt(s);
  if (s > 0)
    for (int64_t j = 0; j < dim; ++j) v[j] = static_cast<float>(v[j] / s);
}

EmbeddingTable hashed_bag_of_words(const nlohmann::json& items, int64_t dim) {
  EmbeddingTable t;
  t.dim = dim;
  for (const auto& [key, item] : items.items()) {
    t.keys.push_back(key);
    std::vector<float> v(dim, 0.f);
    std::string text;
    for (const char* field : {"title", "description", "brand", "categories"})
      if (item.contains(field) && item[field].is_string()) text += " " + item[field].get<std::string>();
    std::string word;
    auto flush = [&] {
      if (word.size() > 1) {
        uint64_t h = hash_word(word);
        v[h % dim] += (h >> 63) ? 1.f : -1.f;  // signed feature hashing
      }
      word.clear();
    };
    for (char ch : text) {
      if (std::isalnum(static_cast<unsigned char>(ch))) word += static_cast<char>(std::tolower(ch));
      else flush();
    }
    flush();
    l2_normalise(v.data(), dim);
    t.values.insert(t.values.end(), v.begin(), v.end());
  }
  return t;
}

EmbeddingTable cooccurrence_projection(const nlohmann::json& inter, const std::vector<std::string>& keys,
                                       int64_t dim) {
  std::map<std::string, int64_t> row;
  for (size_t i = 0; i < keys.size(); ++i) row[keys[i]] = static_cast<int64_t>(i);
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> proj(keys.size() * dim);
  for (auto& x : proj) x = normal(rng);
  EmbeddingTable t;
  t.keys = keys;
  t.dim = dim;
  t.values.assign(keys.size() * dim, 0.f);
  // Self term so items nobody else co-clicks stay distinct.
  for (size_t i = 0; i < t.values.size(); ++i) t.values[i] = 0.3f * proj[i];
  for (const auto& [user, seq] : inter.items()) {
    std::vector<int64_t> rows;
    for (const auto& it : seq) rows.push_back(row.at(std::to_string(it.get<int64_t>())));
    for (int64_t a : rows)
      for (int64_t b : rows)
        if (a != b)
          for (int64_t j = 0; j < dim; ++j) t.values[a * dim + j] += proj[b * dim + j];
  }
  for (size_t i = 0; i < keys.size(); ++i) l2_normalise(t.values.data() + i * dim, dim);
  return t;
}

}  // namespace

TEST(RqvaeScientific, AllItemIdentifiersAreUnique) {
  std::ifstream items_file(kDir + "Scientific.item.json"), inter_file(kDir + "Scientific.inter.json");
  ASSERT_TRUE(items_file.good() && inter_file.good()) << "missing dataset under " << kDir;
  nlohmann::json items = nlohmann::json::parse(items_file), inter = nlohmann::json::parse(inter_file);
  EmbeddingTable text = hashed_bag_of_words(items, 256);
  EmbeddingTable collab = cooccurrence_projection(inter, text.keys, 64);
  ASSERT_EQ(text.rows(), 4344);
  // Through the files, with the collaborative rows in another order (matched by key).
  std::reverse(collab.keys.begin(), collab.keys.end());
  std::vector<float> reversed;
  for (int64_t i = collab.rows() - 1; i >= 0; --i)
    reversed.insert(reversed.end(), collab.row(i), collab.row(i) + collab.dim);
  collab.values = reversed;
  std::string tpath = ::testing::TempDir() + "sci_text.h5", cpath = ::testing::TempDir() + "sci_collab.h5";
  write_embedding_table(tpath, text);
  write_embedding_table(cpath, collab);
  EmbeddingTable t = read_embedding_table(tpath);
  EmbeddingTable c = align_to(t, read_embedding_table(cpath));

  RqvaeOptions o;  // paper sizes: 512-256-128-64-32, 2 shared + 2 + 2 levels of 256 codes
  o.epochs = 6;
  o.warmup_epochs = 1;
  o.eval_every = 3;
  o.kmeans_iterations = 10;
  RqvaeResult r = build_identifiers(t, c, o, "scientific-test");
  const ItemIdentifiers& ids = r.ids;
  ASSERT_EQ(ids.num_items(), 4344u);
  std::set<std::vector<int32_t>> sem, col;
  for (size_t i = 0; i < ids.num_items(); ++i) {
    sem.emplace(ids.sem_ids.begin() + i * ids.sem_length(), ids.sem_ids.begin() + (i + 1) * ids.sem_length());
    col.emplace(ids.col_ids.begin() + i * ids.col_length(), ids.col_ids.begin() + (i + 1) * ids.col_length());
    ASSERT_EQ(ids.sem(i, 0), ids.col(i, 0));
    ASSERT_EQ(ids.sem(i, 1), ids.col(i, 1));
  }
  EXPECT_EQ(sem.size(), 4344u);
  EXPECT_EQ(col.size(), 4344u);
  std::cout << "scientific: semantic collision " << r.report["semantic"]["collision_rate_before"]
            << " -> " << r.report["semantic"]["collision_rate_after_sinkhorn"] << " (suffixed "
            << r.report["semantic"]["suffixed_items"] << "), collaborative "
            << r.report["collaborative"]["collision_rate_before"] << " -> "
            << r.report["collaborative"]["collision_rate_after_sinkhorn"] << " (suffixed "
            << r.report["collaborative"]["suffixed_items"] << "), " << r.report["seconds"] << " s\n";
}
