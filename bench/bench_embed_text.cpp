// embed-text throughput on real item texts (Amazon-2018 Scientific: title. brand. categories.
// description): USE-lite at several batch sizes and TF-IDF+SVD, one intra-op thread. Reports wall and
// CPU time (CPU time is the honest figure on a shared machine), items/s and tokens/s.
// Usage: bench_embed_text [items=1000]
#include <ctime>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/text/item_text.h"
#include "core/text/tfidf_svd_encoder.h"
#include "core/text/unigram_tokenizer.h"
#include "core/text/use_lite_encoder.h"

using namespace gensar::text;

struct Timer {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  double wall_s() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count(); }
  double cpu_s() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

int main(int argc, char** argv) {
  at::set_num_threads(1);
  const size_t limit = argc > 1 ? std::stoul(argv[1]) : 1000;
  std::ifstream in(std::string(GENSAR_DATASETS_DIR) + "/amazon18-scientific/Scientific.item.json");
  auto items = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  std::vector<std::string> texts;
  for (auto& [key, item] : items.items()) {
    auto field = [&](const char* name) { return item.contains(name) && item[name].is_string() ? item[name].get<std::string>() : ""; };
    texts.push_back(compose_item_text(field("title"), field("description"), field("brand"), field("categories")));
  }
  std::printf("Scientific: %zu item texts\n", texts.size());
  const std::vector<std::string> sample(texts.begin(), texts.begin() + std::min(limit, texts.size()));

  auto tok = UnigramTokenizer::from_vocab_json(default_use_lite_dir() + "/vocab.json");
  Timer t0;
  int64_t tokens = 0, clipped = 0;
  for (const auto& s : sample) {
    int64_t n = static_cast<int64_t>(tok.encode(s).size());
    tokens += std::min<int64_t>(n, 128);
    clipped += n > 128;
  }
  std::printf("tokenizer: %zu texts, %.0f texts/s (cpu), mean %.1f model tokens, %.0f%% clipped at 128\n",
              sample.size(), sample.size() / t0.cpu_s(), static_cast<double>(tokens) / sample.size(),
              100.0 * clipped / sample.size());

  for (int64_t batch : {1, 16, 64}) {
    auto enc = make_use_lite_encoder({default_use_lite_dir(), batch});
    Timer t;
    torch::Tensor v = enc->encode(sample);
    std::printf("use-lite batch %3lld: %zu items, wall %.2f s, cpu %.2f s -> %.1f items/s, %.0f tokens/s (cpu)\n",
                static_cast<long long>(batch), sample.size(), t.wall_s(), t.cpu_s(), sample.size() / t.cpu_s(),
                tokens / t.cpu_s());
  }
  TfidfSvdOptions o;
  o.dim = 256;
  TfidfSvdEncoder tfidf(o);
  Timer t;
  tfidf.encode(texts);
  std::printf("tfidf-svd dim 256: %zu items (fit + encode), wall %.2f s, cpu %.2f s -> %.0f items/s (cpu)\n",
              texts.size(), t.wall_s(), t.cpu_s(), texts.size() / t.cpu_s());
  return 0;
}
