#include <gtest/gtest.h>

#include <fstream>

#include "core/common/check.h"
#include "core/train/prompts.h"
#include "core/train/tokenizer.h"

using namespace gensar::train;

namespace {

std::vector<std::string> small_corpus() {
  std::vector<std::string> corpus;
  const char* words[] = {"digital", "caliper", "stainless", "steel", "measuring", "tool", "lab",
                         "glass",   "beaker",  "borosilicate", "pipette", "tips", "sterile",
                         "safety",  "goggles", "nitrile", "gloves", "resistor", "capacitor"};
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int j = 0; j < 6; ++j) s += std::string(words[(i * 7 + j * 3) % 19]) + " ";
    corpus.push_back(s);
  }
  return corpus;
}

Tokenizer small_tokenizer() {
  TokenizerTrainOptions opts;
  opts.vocab_size = 120;
  return Tokenizer::train(small_corpus(), opts);
}

}  // namespace

TEST(Tokenizer, TrainEncodeDecodeRoundTrip) {
  Tokenizer tok = small_tokenizer();
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.unk_id(), 2);
  auto ids = tok.encode("stainless steel beaker");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(tok.decode(ids), "stainless steel beaker");
}

TEST(Tokenizer, SpecialTokensAppendAfterPiecesAndDecode) {
  Tokenizer tok = small_tokenizer();
  const int64_t pieces = tok.piece_count();
  auto ids = tok.add_special_tokens({"<rec_item>", "<s_a_3>"});
  EXPECT_EQ(ids[0], pieces);
  EXPECT_EQ(ids[1], pieces + 1);
  EXPECT_EQ(tok.add_special_tokens({"<rec_item>"})[0], pieces);  // idempotent
  EXPECT_EQ(tok.vocab_size(), pieces + 2);
  std::vector<int64_t> seq = tok.encode("lab");
  seq.push_back(ids[0]);
  seq.push_back(ids[1]);
  seq.push_back(tok.eos_id());
  EXPECT_EQ(tok.decode(seq), "lab<rec_item><s_a_3>");
}

TEST(Tokenizer, SerializedModelReloadsIdentically) {
  Tokenizer tok = small_tokenizer();
  Tokenizer again = Tokenizer::from_serialized(tok.serialized_model());
  EXPECT_EQ(again.encode("nitrile gloves"), tok.encode("nitrile gloves"));
}

TEST(Tokenizer, SameCorpusSameModel) {
  EXPECT_EQ(small_tokenizer().serialized_model(), small_tokenizer().serialized_model());
}

TEST(Tokenizer, MissingModelFileIsInputError) {
  EXPECT_THROW(Tokenizer::load_file("/nonexistent/spiece.model"), gensar::InputError);
}

TEST(Prompts, ShippedFileHasTenTemplatesPerTask) {
  PromptSet set = PromptSet::load(std::string(GENSAR_SOURCE_DIR) + "/configs/prompts.txt");
  for (int t = 0; t < kNumTasks; ++t) EXPECT_EQ(set.count(static_cast<Task>(t)), 10) << t;
  EXPECT_TRUE(set.has_neutral());
}

TEST(Prompts, RenderFillsSlotsInOrder) {
  std::string path = ::testing::TempDir() + "p.txt";
  std::ofstream(path) << "[rec]\nA {history} B\n[search]\n{history} Q {query}\n[next_query]\nx {history}\n"
                         "[query_item]\n{query}\n[text_to_id]\n{text}\n[id_to_text]\n{id}\n";
  PromptSet set = PromptSet::load(path);
  Tokenizer tok = small_tokenizer();
  set.compile(tok);
  std::vector<int64_t> hist = {900, 901};
  std::vector<int64_t> query = {902};
  auto out = PromptSet::render(set.get(Task::kSearch, 0), {&hist, &query, nullptr, nullptr});
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out[0], 900);
  EXPECT_EQ(out[1], 901);
  EXPECT_EQ(out.back(), 902);
}

TEST(Prompts, BadFilesNameTheLine) {
  std::string path = ::testing::TempDir() + "bad.txt";
  std::ofstream(path) << "[rec]\nok {history}\nbroken {nosuchslot}\n";
  try {
    PromptSet::load(path);
    FAIL();
  } catch (const gensar::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":3"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "[rec]\nonly rec {history}\n";
  EXPECT_THROW(PromptSet::load(path), gensar::InputError);  // other tasks missing
}
