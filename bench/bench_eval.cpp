// Evaluation benchmark (docs/evaluation.md, "Benchmark"): test cases/s of `evaluate()` for the
// candidates protocol (per-case 100-candidate tries) and full ranking (one catalogue trie) at 30
// beams, TIGER-size T5 with random weights, on the real Scientific dataset (4,344 items, ingested
// into a temporary directory) with random 4-level identifiers. The baseline in the same run is the
// scorer alone doing the same work without the evaluator (encode + 5 KV-cached steps on
// cases x 30 rows): "evaluator overhead" is what sample building, tries and the search add.
// Then the decode cost per step against beam width and generated length (the KV cache should keep
// a step's cost flat in the length), and the popularity baseline's throughput for reference.
//
// The catalogue softmax (--id-softmax catalogue) is measured twice in the same run: through the
// scorer's step_columns (the model projects onto the identifier tokens only, no softmax) and through
// the whole vocabulary's log-probs (the path before step_columns existed), so the ratio is its gain.
//
// Usage: bench_eval [--quick] [--cases N] [--preset tiger|small|PRESET] [--json]
//   small = the results run's model (tiger:d_ff=512,heads=4,d_kv=32,encoder_layers=2,decoder_layers=2)
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "core/model/t5_model.h"
#include "core/model/t5_scorer.h"
#include "core/eval/baselines.h"
#include "core/eval/evaluator.h"
#include "core/train/batch.h"
#include "core/train/run_setup.h"
#include "data_pipeline/candidates.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/ingest_comm.h"
#include "data_pipeline/readers/reader_factory.h"
#include "tests/support/full_vocabulary_scorer.h"

using namespace gensar;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

rqvae::ItemIdentifiers random_identifiers(const data::Dataset& ds, uint64_t seed) {
  rqvae::ItemIdentifiers ids;
  ids.sem_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"sem_a", 256, false}, {"sem_b", 256, false}};
  ids.col_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"col_a", 256, false}, {"col_b", 256, false}};
  std::mt19937_64 rng(seed);
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    ids.item_keys.emplace_back(ds.item_key(i));
    const int32_t a = rng() % 256, b = rng() % 256;
    ids.sem_ids.insert(ids.sem_ids.end(), {a, b, int32_t(rng() % 256), int32_t(rng() % 256)});
    ids.col_ids.insert(ids.col_ids.end(), {a, b, int32_t(rng() % 256), int32_t(rng() % 256)});
  }
  ids.config_hash = "bench";
  ids.validate();
  return ids;
}

// Per-step decode time for `rows` hypotheses over `steps` generated tokens (greedy feed of token 5).
std::vector<double> step_times(decoding::Seq2SeqScorer& scorer, const torch::Tensor& ids,
                               const torch::Tensor& mask, int64_t beams, int64_t steps,
                               int64_t expand_after = 0) {
  // The first `expand_after` steps run on one row per case (as beam search does for the forced
  // task token and the first identifier token), the rest on cases x beams rows.
  torch::NoGradGuard no_grad;
  auto state = scorer.start(ids, mask);
  const int64_t b = ids.size(0);
  int64_t rows = b;
  torch::Tensor tokens = torch::full({b}, scorer.decoder_start_token(), torch::kLong);
  std::vector<double> out;
  for (int64_t s = 0; s < steps; ++s) {
    if (s == expand_after) {
      scorer.reorder(*state, torch::arange(b, torch::kLong).repeat_interleave(beams));
      rows = b * beams;
      tokens = tokens.repeat_interleave(beams);
    }
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor lp = scorer.step(*state, tokens);
    (void)lp.sum().item<float>();
    out.push_back(seconds_since(t0));
    tokens = torch::full({rows}, 5, torch::kLong);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, json = false;
  int64_t cases = 96;
  std::string preset = "tiger";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    if (!std::strcmp(argv[i], "--json")) json = true;
    if (!std::strcmp(argv[i], "--cases") && i + 1 < argc) cases = std::atoll(argv[++i]);
    if (!std::strcmp(argv[i], "--preset") && i + 1 < argc) preset = argv[++i];
  }
  if (preset == "small") preset = "tiger:d_ff=512,heads=4,d_kv=32,encoder_layers=2,decoder_layers=2";
  if (quick) cases = 32;
  torch::manual_seed(1);
  std::printf("bench_eval: torch threads %d%s\n", torch::get_num_threads(), quick ? " (quick)" : "");

  namespace fs = std::filesystem;
  const std::string dir = (fs::temp_directory_path() / ("gensar-bench-eval-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  auto t0 = std::chrono::steady_clock::now();
  {
    auto reader = data::make_reader({"lcrec", std::string(GENSAR_DATASETS_DIR) + "/amazon18-scientific/Scientific", ""});
    data::IngestOptions o;
    o.out = dir + "/dataset";
    o.candidates = true;
    o.candidate_negatives = 99;
    o.threads = 2;
    auto comm = data::single_ingest_comm();
    data::ingest(*reader, o, *comm);
  }
  std::printf("setup: ingest Scientific with 99 candidates per case %.1f s\n", seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  train::RunPieces pieces;
  {
    data::Dataset ds(dir + "/dataset");
    rqvae::save_identifiers(dir + "/identifiers.h5", random_identifiers(ds, 7));
    train::RunInputs in;
    in.dataset_dir = dir + "/dataset";
    in.identifiers_path = dir + "/identifiers.h5";
    in.prompts_path = train::default_prompts_path();
    in.tokenizer.vocab_size = 8000;
    pieces = train::assemble_run(in);
  }
  const auto& ds = *pieces.dataset;
  auto candidates = std::make_shared<data::EvalCandidates>(data::load_eval_candidates(ds.dir()));
  model::T5Config config = train::model_config_for(preset, *pieces.tokenizer, 0.0, 1);
  model::T5Model model(config, nullptr, 3);
  model->eval();
  model::T5Scorer scorer(model);
  std::printf("setup: tokenizer + SampleBuilder + T5 %.1f s; %d items, %d users, vocab %lld, "
              "d_model %lld, layers %lld/%lld\n",
              seconds_since(t0), ds.num_items(), ds.num_users(), (long long)config.vocab_size,
              (long long)config.d_model, (long long)config.num_encoder_layers,
              (long long)config.num_decoder_layers);

  // 1. Throughput per protocol and task, and the scorer-alone baseline on the same inputs; the
  // catalogue softmax through step_columns and through the whole vocabulary.
  train::SampleBuilderOptions catalogue_options = pieces.builder->options();
  catalogue_options.id_softmax = train::IdSoftmax::kCatalogue;
  train::SampleBuilder catalogue_builder(pieces.dataset, pieces.identifiers, pieces.tokenizer, pieces.prompts,
                                         catalogue_options);
  decoding::FullVocabularyScorer full_vocabulary(scorer);
  struct Mode {
    const char* name;
    decoding::Seq2SeqScorer* scorer;
    const train::SampleBuilder* builder;
  };
  const Mode modes[] = {{"vocabulary", &scorer, pieces.builder.get()},
                        {"catalogue-via-vocab", &full_vocabulary, &catalogue_builder},
                        {"catalogue", &scorer, &catalogue_builder}};
  std::printf("\n1. evaluate(): %lld test cases per task, 30 beams, batch 16\n", (long long)cases);
  std::printf("%-20s %-11s %-7s %9s %10s %12s %10s\n", "id-softmax", "protocol", "task", "cases/s", "s/case",
              "scorer-only", "overhead");
  // The scorer-alone baseline's input batches per task (the same test cases evaluate() takes).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> alone_batches[2];
  for (int t = 0; t < 2; ++t) {
    const auto& examples = ds.examples(t == 0 ? data::Task::kRec : data::Task::kSearch, data::Split::kTest);
    const auto selected = eval::selected_examples(static_cast<int64_t>(examples.size()), cases);
    for (size_t b = 0; b < selected.size(); b += 16) {
      std::vector<std::vector<int64_t>> inputs;
      for (size_t i = b; i < std::min(selected.size(), b + 16); ++i) {
        const auto& ex = examples[selected[i]];
        inputs.push_back(pieces.builder->build_input(t == 0 ? train::Task::kRec : train::Task::kSearch,
                                                     ex.user, ex.event_index, 0));
      }
      torch::Tensor ids, mask;
      train::collate_inputs(inputs, pieces.tokenizer->pad_id(), &ids, &mask);
      alone_batches[t].emplace_back(ids, mask);
    }
  }
  double rate[3][2][2] = {};
  std::string rows_json;
  for (int m = 0; m < 3; ++m) {
    for (int p = 0; p < 2; ++p) {
      for (int t = 0; t < 2; ++t) {
        eval::EvalOptions o;
        o.protocols = {p == 0 ? eval::Protocol::kCandidates : eval::Protocol::kFull};
        o.tasks = {t == 0 ? data::Task::kRec : data::Task::kSearch};
        o.beams = 30;
        o.batch_size = 16;
        o.max_cases = cases;
        eval::EvalResult r = eval::evaluate(*modes[m].scorer, *modes[m].builder, candidates.get(), o, nullptr);
        // Scorer alone: the same inputs, encode + 5 steps (task token + 4 ID tokens): the first two
        // on 16 rows, the last three on 16 x 30 rows, as beam search schedules them. Timed beside
        // every row: this machine's speed drifts.
        auto s0 = std::chrono::steady_clock::now();
        for (const auto& [ids, mask] : alone_batches[t]) step_times(scorer, ids, mask, 30, 5, 2);
        const double alone = seconds_since(s0);
        rate[m][p][t] = r.cases / r.seconds;
        const char* protocol = p == 0 ? "candidates" : "full";
        const char* task = t == 0 ? "rec" : "search";
        std::printf("%-20s %-11s %-7s %9.2f %10.3f %11.1fs %9.2fx\n", modes[m].name, protocol, task,
                    rate[m][p][t], r.seconds / r.cases, alone, r.seconds / alone);
        rows_json += fmt::format("{}{{\"id_softmax\":\"{}\",\"protocol\":\"{}\",\"task\":\"{}\","
                                 "\"cases_per_s\":{:.3f},\"scorer_alone_s\":{:.3f},\"seconds\":{:.3f}}}",
                                 rows_json.empty() ? "" : ",", modes[m].name, protocol, task, rate[m][p][t],
                                 alone, r.seconds);
      }
    }
  }
  std::printf("full / candidates throughput (vocabulary): rec %.2fx, search %.2fx\n", rate[0][1][0] / rate[0][0][0],
              rate[0][1][1] / rate[0][0][1]);
  double gain = 1;
  for (int p = 0; p < 2; ++p)
    for (int t = 0; t < 2; ++t) gain *= rate[2][p][t] / rate[1][p][t];
  gain = std::pow(gain, 0.25);
  std::printf("catalogue softmax through step_columns / through the whole vocabulary: %.2fx (geometric mean "
              "over protocols and tasks)\n", gain);
  if (json) {
    std::printf("{\"preset\":\"%s\",\"beams\":30,\"cases_per_task\":%lld,\"threads\":%d,\"rows\":[%s],"
                "\"catalogue_columns_speedup\":%.3f}\n", preset.c_str(), (long long)cases, torch::get_num_threads(),
                rows_json.c_str(), gain);
  }

  // 2. Decode time per step against beam width and generated length (16 cases).
  std::printf("\n2. decode step time (16 cases, T5 KV-cached step)\n");
  torch::Tensor ids = torch::randint(3, pieces.tokenizer->vocab_size(), {16, 128}, torch::kLong);
  torch::Tensor mask = torch::ones_like(ids);
  const int64_t steps = quick ? 12 : 24;
  std::printf("%6s %8s %14s %14s %10s\n", "beams", "rows", "ms/step 1-4", "ms/step last4",
              "last/first");
  double base = 0;
  for (int64_t beams : {1, 10, 30, 60}) {
    auto times = step_times(scorer, ids, mask, beams, steps);
    double first = 0, last = 0;
    for (int i = 0; i < 4; ++i) {
      first += times[i] / 4;
      last += times[steps - 1 - i] / 4;
    }
    if (beams == 1) base = first;
    std::printf("%6lld %8lld %14.2f %14.2f %9.2fx   (vs 1 beam: %.1fx)\n", (long long)beams,
                (long long)(16 * beams), first * 1e3, last * 1e3, last / first, first / base);
  }

  // 3. Popularity baseline (no model) on the same protocols, for reference.
  std::printf("\n3. popularity baseline, all test cases\n");
  for (int p = 0; p < 2; ++p) {
    eval::EvalOptions o;
    o.protocols = {p == 0 ? eval::Protocol::kCandidates : eval::Protocol::kFull};
    eval::EvalResult r = eval::evaluate_with(eval::popularity_ranker(ds, 30), ds, candidates.get(), o, nullptr);
    std::printf("%-11s %lld cases in %.2f s: %.0f cases/s\n", p == 0 ? "candidates" : "full",
                (long long)r.cases, r.seconds, r.cases / r.seconds);
  }
  fs::remove_all(dir);
  return 0;
}
