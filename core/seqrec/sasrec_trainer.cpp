#include "core/seqrec/sasrec_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <random>
#include <unordered_set>

#include "core/common/check.h"
#include "core/common/log.h"
#include "data_pipeline/dataset.h"
#include "data_pipeline/sample_order.h"
#include "data_pipeline/streaming_reader.h"
#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"

namespace gensar::seqrec {

std::vector<std::vector<int32_t>> training_rec_sequences(const data::Dataset& dataset) {
  // The first held-out example of each user, over both tasks and both held-out splits.
  std::vector<std::vector<int32_t>> heldout(static_cast<size_t>(dataset.num_users()));
  for (data::Task task : {data::Task::kRec, data::Task::kSearch})
    for (data::Split split : {data::Split::kValid, data::Split::kTest})
      for (const data::Example& ex : dataset.examples(task, split))
        heldout[static_cast<size_t>(ex.user)].push_back(ex.event_index);

  std::vector<std::vector<int32_t>> sequences(static_cast<size_t>(dataset.num_users()));
  dataset.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    int64_t end = static_cast<int64_t>(events.size());
    for (int32_t target : heldout[static_cast<size_t>(user)])
      end = std::min(end, data::history_end(events, target));
    auto& seq = sequences[static_cast<size_t>(user)];
    for (int64_t i = 0; i < end; ++i)
      if (events[static_cast<size_t>(i)].kind == data::EventKind::kRec)
        seq.push_back(events[static_cast<size_t>(i)].item);
  });
  return sequences;
}

SasRecBatch build_sasrec_batch(const SasRecConfig& config,
                               const std::vector<std::vector<int32_t>>& sequences,
                               const std::vector<int64_t>& users, uint64_t seed, int64_t epoch) {
  const int64_t b = static_cast<int64_t>(users.size()), l = config.max_len;
  SasRecBatch batch;
  batch.inputs = torch::zeros({b, l}, torch::kInt64);
  batch.positives = torch::zeros({b, l}, torch::kInt64);
  batch.negatives = torch::zeros({b, l}, torch::kInt64);
  auto in = batch.inputs.accessor<int64_t, 2>();
  auto pos = batch.positives.accessor<int64_t, 2>();
  auto neg = batch.negatives.accessor<int64_t, 2>();
  const bool sample_negatives = config.loss == "bce";
  for (int64_t row = 0; row < b; ++row) {
    const auto& seq = sequences[static_cast<size_t>(users[static_cast<size_t>(row)])];
    const int64_t n = static_cast<int64_t>(seq.size());
    if (n < 2) continue;
    // Inputs seq[n-1-k .. n-2], targets seq[n-k .. n-1], right-aligned.
    const int64_t k = std::min(l, n - 1);
    std::mt19937_64 rng(data::mix_seed(seed, static_cast<uint64_t>(epoch),
                                       static_cast<uint64_t>(users[static_cast<size_t>(row)])));
    std::unordered_set<int32_t> seen;
    if (sample_negatives) seen.insert(seq.begin(), seq.end());
    std::uniform_int_distribution<int64_t> any_item(0, config.num_items - 1);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t col = l - k + j;
      in[row][col] = seq[static_cast<size_t>(n - 1 - k + j)] + 1;
      pos[row][col] = seq[static_cast<size_t>(n - k + j)] + 1;
      if (!sample_negatives) continue;
      // A random item the user never clicked (the paper's sampler); a user who clicked nearly the
      // whole catalogue gets whatever the last draw was rather than an endless loop.
      int64_t item = any_item(rng);
      for (int tries = 0; tries < 64 && seen.count(static_cast<int32_t>(item)); ++tries) item = any_item(rng);
      neg[row][col] = item + 1;
    }
  }
  return batch;
}

SasRecTrainReport train_sasrec(SasRec& model, const std::vector<std::vector<int32_t>>& sequences,
                               const SasRecTrainOptions& options, dist::Communicator* comm) {
  const SasRecConfig& config = model.config();
  const int rank = comm ? comm->rank() : 0;
  const int world = comm ? comm->size() : 1;
  GENSAR_INPUT_CHECK(options.epochs >= 0, "sasrec: epochs must be >= 0, got {}", options.epochs);
  GENSAR_INPUT_CHECK(options.batch_size > 0 && options.batch_size % world == 0,
                     "sasrec: batch-size {} must be a positive multiple of the {} data-parallel ranks",
                     options.batch_size, world);
  // Samples: the users with at least one (input, target) pair.
  std::vector<int64_t> trainable;
  for (size_t u = 0; u < sequences.size(); ++u)
    if (sequences[u].size() >= 2) trainable.push_back(static_cast<int64_t>(u));
  GENSAR_INPUT_CHECK(!trainable.empty(), "sasrec: no user has two or more training rec items");
  const int64_t n = static_cast<int64_t>(trainable.size());
  const int64_t steps_per_epoch = std::max<int64_t>(1, n / options.batch_size);
  GENSAR_INFO("seqrec", "SASRec: {} items, {} training users, {} epochs x {} steps, global batch {}, {} rank(s)",
              config.num_items, n, options.epochs, steps_per_epoch, options.batch_size, world);

  data::ReaderOptions reader_options;
  reader_options.prefetch = options.prefetch;
  reader_options.total_samples = options.epochs * n;
  const uint64_t seed = options.seed;
  data::StreamingReader<SasRecBatch> reader(
      data::SampleOrder(n, seed), data::RankSlice{options.batch_size, rank, world},
      [&](const std::vector<int64_t>& samples, int64_t epoch) {
        std::vector<int64_t> users;
        users.reserve(samples.size());
        for (int64_t s : samples) users.push_back(trainable[static_cast<size_t>(s)]);
        return build_sasrec_batch(config, sequences, users, seed, epoch);
      },
      reader_options);

  torch::optim::Adam optimizer(model.parameters(),
                               torch::optim::AdamOptions(options.lr).betas({0.9, 0.98}));
  // Data parallel through the project's one reducer. Summed, not averaged: every rank's loss is
  // already divided by the global target count. Every rank built the same model from the seed, so
  // nothing is broadcast. `comm` is borrowed for this call (no ownership taken).
  std::unique_ptr<dist::GradientReducer> reducer;
  if (comm && world > 1) {
    dist::ReducerOptions ro;
    ro.broadcast_parameters = false;
    ro.reduction = dist::GradientReduction::kSum;
    reducer = std::make_unique<dist::GradientReducer>(
        model.parameters(), std::shared_ptr<dist::Communicator>(comm, [](dist::Communicator*) {}),
        ro);
  }
  model.train(true);
  SasRecTrainReport report;
  const auto start = std::chrono::steady_clock::now();
  double epoch_loss = 0.0, epoch_count = 0.0;
  int64_t current_epoch = 0;
  auto close_epoch = [&] {
    if (epoch_count > 0) {
      report.epoch_losses.push_back(epoch_loss / epoch_count);
      GENSAR_INFO("seqrec", "epoch {} loss {:.4f}", current_epoch, report.epoch_losses.back());
    }
    epoch_loss = epoch_count = 0.0;
  };
  while (auto item = reader.next()) {
    if (item->epoch != current_epoch) {
      close_epoch();
      current_epoch = item->epoch;
    }
    optimizer.zero_grad();
    auto [loss_sum, count] = model.loss_sum(item->batch);
    // Global loss and target count in one collective; every rank normalises by the global count.
    torch::Tensor stats = torch::stack({loss_sum.detach().to(torch::kFloat64),
                                        torch::tensor(static_cast<double>(count), torch::kFloat64)});
    if (comm && world > 1) comm->all_reduce(stats, dist::ReduceOp::kSum);
    const double global_count = stats[1].item<double>();
    if (global_count > 0) {
      (loss_sum / global_count).backward();
      if (reducer) reducer->finish_backward();
      optimizer.step();
    }
    epoch_loss += stats[0].item<double>();
    epoch_count += global_count;
    ++report.steps;
    report.samples = item->consumed_after;
  }
  close_epoch();
  model.train(false);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace gensar::seqrec
