// TF-IDF + SVD properties, the file importer (round trips and the errors users will hit), the
// text_embeddings.h5 writer/reader, and how item text is composed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/common/check.h"
#include "core/text/file_encoder.h"
#include "core/text/item_text.h"
#include "core/text/npy.h"
#include "core/text/text_embeddings_file.h"
#include "core/text/tfidf_svd_encoder.h"

namespace gensar::text {
namespace {

namespace fs = std::filesystem;

// Three topics, four texts each, sharing topic words but worded differently.
const std::vector<std::string> kCorpus = {
    "digital caliper stainless steel measuring tool with lcd display",
    "vernier caliper for precise measuring of inner and outer diameter",
    "micrometer and caliper set, steel measuring tools in a case",
    "dial caliper measuring tool, hardened stainless steel jaws",
    "moisturizing face cream for dry skin with hyaluronic acid",
    "night cream for the face, deep moisturizing for dry and sensitive skin",
    "hydrating face serum with hyaluronic acid for glowing skin",
    "anti aging face cream moisturizing, suitable for sensitive skin",
    "soldering iron kit with adjustable temperature and solder wire",
    "lead free solder wire for electronics soldering, rosin core",
    "soldering station with iron holder and temperature display",
    "desoldering pump and soldering iron tips for electronics repair",
};

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("gensar_text_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

template <typename Fn>
std::string input_error_of(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(TfidfSvd, SimilarTextsAreCloserThanUnrelated) {
  TfidfSvdOptions o;
  o.dim = 3;
  TfidfSvdEncoder encoder(o);
  torch::Tensor v = l2_normalize_rows(encoder.encode(kCorpus));
  ASSERT_EQ(v.sizes(), (std::vector<int64_t>{12, 3}));
  torch::Tensor sim = torch::mm(v, v.t());
  // Every text's nearest other text is from its own topic, and mean within-topic similarity beats
  // mean across-topic similarity by a wide margin.
  double within = 0, across = 0;
  int n_within = 0, n_across = 0;
  for (int i = 0; i < 12; ++i) {
    int best = -1;
    for (int j = 0; j < 12; ++j) {
      if (i == j) continue;
      if (best < 0 || sim[i][j].item<float>() > sim[i][best].item<float>()) best = j;
      if (i / 4 == j / 4) within += sim[i][j].item<float>(), ++n_within;
      else across += sim[i][j].item<float>(), ++n_across;
    }
    EXPECT_EQ(best / 4, i / 4) << kCorpus[i];
  }
  EXPECT_GT(within / n_within, across / n_across + 0.5);
  // Projecting a new text lands near its topic.
  torch::Tensor q = l2_normalize_rows(encoder.encode({"stainless steel caliper"}));
  torch::Tensor to_topics = torch::mm(q, v.t()).view({3, 4}).mean(1);
  EXPECT_EQ(to_topics.argmax().item<int64_t>(), 0);
}

TEST(TfidfSvd, DeterministicBySeed) {
  TfidfSvdOptions o;
  o.dim = 4;
  o.seed = 7;
  TfidfSvdEncoder a(o), b(o);
  torch::Tensor va = a.encode(kCorpus), vb = b.encode(kCorpus);
  EXPECT_TRUE(torch::equal(va, vb));
  // Another seed finds the same subspace (the spectrum is well separated), up to tiny error.
  o.seed = 8;
  TfidfSvdEncoder c(o);
  torch::Tensor vc = c.encode(kCorpus);
  EXPECT_LT((vc - va).abs().max().item<float>(), 1e-3);
  // Singular values come out in descending order.
  torch::Tensor s = a.singular_values();
  EXPECT_TRUE(torch::all(s.slice(0, 0, 3) >= s.slice(0, 1, 4)).item<bool>());
}

TEST(TfidfSvd, DimBeyondRankIsAnInputError) {
  TfidfSvdOptions o;
  o.dim = 50;
  TfidfSvdEncoder encoder(o);
  EXPECT_NE(input_error_of([&] { encoder.encode(kCorpus); }).find("--dim 50"), std::string::npos);
}

TEST(TfidfSvd, TokensAreLowercasedWords) {
  EXPECT_EQ(tfidf_tokens("Hello, WORLD! a 42x café"), (std::vector<std::string>{"hello", "world", "42x", "café"}));
}

TEST(FileImport, NpyRoundTripInRequestedOrder) {
  fs::path dir = temp_dir("npy");
  torch::Tensor m = torch::arange(12, torch::kFloat32).view({4, 3}) + 1;
  write_npy_matrix((dir / "vec.npy").string(), m);
  std::ofstream((dir / "vec.keys.txt").string()) << "a\nb\nc\nd\n";
  FileEncoder encoder({(dir / "vec.npy").string(), "", 0});
  EXPECT_EQ(encoder.dim(), 3);
  torch::Tensor got = encoder.encode({"c", "a"});
  EXPECT_TRUE(torch::equal(got[0], m[2]));
  EXPECT_TRUE(torch::equal(got[1], m[0]));
  fs::remove_all(dir);
}

TEST(FileImport, H5RoundTripThroughTheOutputFormat) {
  fs::path dir = temp_dir("h5");
  torch::Tensor m = torch::randn({5, 8});
  TextEmbeddings e{{"i0", "i1", "i2", "i3", "i4"}, m, "file", "xxh64:0000000000000001"};
  const std::string path = (dir / "emb.h5").string();
  write_text_embeddings(path, e);
  TextEmbeddings back = read_text_embeddings(path);
  EXPECT_EQ(back.item_keys, e.item_keys);
  EXPECT_TRUE(torch::equal(back.matrix, m));
  EXPECT_EQ(back.encoder, "file");
  EXPECT_EQ(back.config_hash, "xxh64:0000000000000001");
  EXPECT_EQ(read_text_embeddings_hash(path), "xxh64:0000000000000001");
  FileEncoder encoder({path, "", 8});
  EXPECT_TRUE(torch::equal(encoder.encode({"i4", "i1"}), torch::stack({m[4], m[1]})));
  fs::remove_all(dir);
}

TEST(FileImport, BadInputsNameTheFileAndTheItem) {
  fs::path dir = temp_dir("bad");
  const std::string npy = (dir / "vec.npy").string();
  torch::Tensor m = torch::ones({3, 4});
  m[1][2] = std::nanf("");
  write_npy_matrix(npy, m);
  std::ofstream((dir / "vec.keys.txt").string()) << "x\ny\nz\n";

  std::string err = input_error_of([&] { FileEncoder({npy, "", 0}).encode({"x", "missing-item"}); });
  EXPECT_NE(err.find(npy), std::string::npos) << err;
  EXPECT_NE(err.find("missing-item"), std::string::npos) << err;

  err = input_error_of([&] { FileEncoder({npy, "", 0}).encode({"x", "y"}); });
  EXPECT_NE(err.find("NaN"), std::string::npos) << err;
  EXPECT_NE(err.find("'y'"), std::string::npos) << err;

  err = input_error_of([&] { FileEncoder({npy, "", 16}); });
  EXPECT_NE(err.find("dim 4"), std::string::npos) << err;
  EXPECT_NE(err.find(npy), std::string::npos) << err;

  std::ofstream((dir / "dup.txt").string()) << "x\nx\nz\n";
  err = input_error_of([&] { FileEncoder({npy, (dir / "dup.txt").string(), 0}); });
  EXPECT_NE(err.find("'x' appears twice"), std::string::npos) << err;

  std::ofstream((dir / "short.txt").string()) << "x\ny\n";
  err = input_error_of([&] { FileEncoder({npy, (dir / "short.txt").string(), 0}); });
  EXPECT_NE(err.find("2 item keys"), std::string::npos) << err;

  std::ofstream((dir / "junk.npy").string()) << "not numpy";
  err = input_error_of([&] { FileEncoder({(dir / "junk.npy").string(), "", 0}); });
  EXPECT_NE(err.find("not a .npy"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(ItemText, ShortFieldsFirstEmptyOnesSkipped) {
  EXPECT_EQ(compose_item_text(" Caliper ", "A long description.", "", "Tools,Measuring"),
            "Caliper. Tools,Measuring. A long description.");
  EXPECT_EQ(compose_item_text("", "", "Acme", ""), "Acme");
}

TEST(L2Normalize, UnitRowsAndZeroRowsStayZero) {
  torch::Tensor m = torch::tensor({3.0f, 4.0f, 0.0f, 0.0f}).view({2, 2});
  torch::Tensor n = l2_normalize_rows(m);
  EXPECT_NEAR(n[0][0].item<float>(), 0.6f, 1e-6);
  EXPECT_EQ(n[1].abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace gensar::text
