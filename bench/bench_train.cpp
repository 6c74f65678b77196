// Training throughput of `gensar train`'s loop on Amazon Scientific with the TIGER preset.
//
// Ingests ../shared/datasets/amazon18-scientific (LC-Rec JSON; no candidates) into a temporary
// directory, gives every item placeholder identifiers (4 codes from a hash of the item index: the
// throughput does not depend on their quality), trains the tokenizer, and runs the Trainer for a
// number of steps (all six tasks, paper mix). Baseline in the same run: the bare model step
// (forward + backward + AdamW) on one fixed, pre-collated batch of the same shape, i.e. the loop
// without sample building, collation and bookkeeping. Prints samples/s of both and the ratio.
//
//   bench_train [--steps 20] [--batch 64] [--threads 1] [--dataset DIR (already ingested)]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/train/batch.h"
#include "core/train/run_setup.h"
#include "core/train/trainer.h"
#include "data_pipeline/ingest.h"
#include "data_pipeline/ingest_comm.h"
#include "data_pipeline/readers/reader_factory.h"
#include "data_pipeline/sample_order.h"
#include "distributed/process_mesh.h"

using namespace gensar;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int64_t steps = 20, batch = 64;
  int threads = 1;
  std::string dataset_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dataset")) dataset_dir = argv[i + 1];
  }
  torch::set_num_threads(threads);
  const fs::path tmp = fs::temp_directory_path() / ("gensar-bench-train-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  if (dataset_dir.empty()) {
    data::IngestOptions o;
    o.out = (tmp / "dataset").string();
    o.candidates = false;
    auto reader = data::make_reader(data::ReaderSpec{
        "lcrec", std::string(GENSAR_BENCH_DATASETS_DIR) + "/amazon18-scientific/Scientific", ""});
    auto comm = data::single_ingest_comm();
    const auto t0 = std::chrono::steady_clock::now();
    data::ingest(*reader, o, *comm);
    std::printf("ingest Scientific: %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    dataset_dir = o.out;
  }
  data::Dataset ds(dataset_dir);
  rqvae::ItemIdentifiers ids;
  ids.sem_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"sem_a", 256, false}, {"sem_b", 256, false}};
  ids.col_levels = {{"s_a", 256, true}, {"s_b", 256, true}, {"col_a", 256, false}, {"col_b", 256, false}};
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    ids.item_keys.emplace_back(ds.item_key(i));
    uint64_t h = data::mix64(static_cast<uint64_t>(i));
    for (int l = 0; l < 4; ++l) ids.sem_ids.push_back(static_cast<int32_t>((h >> (8 * l)) & 255));
    ids.col_ids.insert(ids.col_ids.end(), {ids.sem_ids[4 * i], ids.sem_ids[4 * i + 1],
                                           static_cast<int32_t>((h >> 32) & 255),
                                           static_cast<int32_t>((h >> 40) & 255)});
  }
  const std::string ids_path = (tmp / "identifiers.h5").string();
  rqvae::save_identifiers(ids_path, ids);

  train::RunInputs in;
  in.dataset_dir = dataset_dir;
  in.identifiers_path = ids_path;
  in.prompts_path = train::default_prompts_path();
  auto t_setup = std::chrono::steady_clock::now();
  train::RunPieces pieces = train::assemble_run(in);
  std::printf("tokenizer + sample builder: %.1f s; vocabulary %lld; %d users, %d items, %zu rec / %zu search "
              "training examples\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_setup).count(),
              static_cast<long long>(pieces.tokenizer->vocab_size()), ds.num_users(), ds.num_items(),
              ds.examples(data::Task::kRec, data::Split::kTrain).size(),
              ds.examples(data::Task::kSearch, data::Split::kTrain).size());
  model::T5Config config = train::model_config_for("tiger", *pieces.tokenizer, 0.1, 1);
  auto mesh = std::make_shared<dist::ProcessMesh>(dist::single_process_communicator(), dist::MeshOptions{});

  // The trainer.
  model::T5Model model(config, nullptr, 1);
  train::TrainerOptions o;
  o.out = (tmp / "run").string();
  o.batch_size = batch;
  o.max_steps = steps + 2;
  o.valid_every = -1;
  o.progress = false;
  o.checkpoint_files = {{"config.ini", "bench\n"}};
  train::Trainer trainer(o, pieces.builder, model, mesh);
  trainer.run();
  double secs = 0;
  int64_t in_tokens = 0;
  for (size_t i = 2; i < trainer.history().size(); ++i) secs += batch / trainer.history()[i].samples_per_s;
  const double trainer_sps = steps * batch / secs;

  // Baseline: the bare model step on one fixed batch of the same samples.
  train::TaskMixOptions mix;
  mix.seed = o.seed;
  train::EpochSamples epoch(*pieces.builder, mix, 0);
  data::SampleOrder order(epoch.size(), o.seed);
  std::vector<train::Sample> samples;
  for (int64_t p = 0; p < batch; ++p) samples.push_back(pieces.builder->build(epoch[order.sample_at(p)]));
  for (const auto& s : samples) in_tokens += static_cast<int64_t>(s.input.size());
  train::Batch b = train::collate(samples, pieces.tokenizer->pad_id(), config.decoder_start_token_id);
  model::T5Model bare(config, nullptr, 1);
  bare->train();
  torch::optim::AdamW opt(bare->parameters(), torch::optim::AdamWOptions(1e-3));
  double bare_secs = 0;
  for (int64_t s = 0; s < steps + 2; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    auto out = bare->forward(b.input_ids, b.attention_mask, b.decoder_input_ids, b.labels);
    out.loss.backward();
    opt.step();
    if (s >= 2) bare_secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double bare_sps = steps * batch / bare_secs;
  std::printf("tiger preset (%lld parameters), batch %lld, %d thread(s), mean input %.0f tokens (padded %lld), "
              "%lld timed steps after 2 warm-up\n",
              static_cast<long long>(model::parameter_count(config)), static_cast<long long>(batch),
              threads, static_cast<double>(in_tokens) / batch,
              static_cast<long long>(b.input_ids.size(1)), static_cast<long long>(steps));
  std::printf("trainer loop (six tasks, sampling + collation + AdamW + clipping): %.1f samples/s\n", trainer_sps);
  std::printf("bare model step on one fixed batch (baseline):                   %.1f samples/s\n", bare_sps);
  std::printf("ratio trainer / bare: %.2f\n", trainer_sps / bare_sps);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}
