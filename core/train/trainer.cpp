#include "core/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/tensor_parallel/cross_entropy.h"
#include "core/train/batch.h"
#include "core/train/identifier_softmax.h"
#include "core/train/nonfinite_guard.h"
#include "core/train/replica_check.h"
#include "core/train/run_layout.h"
#include "core/train/sample_stream.h"
#include "core/train/train_checkpoint.h"
#include "data_pipeline/sample_order.h"
#include "distributed/checkpoint_io.h"
#include "distributed/gradient_reducer.h"
#include "distributed/stop_signal.h"

namespace fs = std::filesystem;

namespace gensar::train {

struct Trainer::Impl {
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<dist::GradientReducer> reducer;
  std::unique_ptr<dist::CheckpointWriter> writer;
  std::unique_ptr<SampleStream> stream;
  std::vector<torch::Tensor> sharded_params, replicated_params;
  LrSchedule schedule;
  NonfiniteGuard nonfinite;
  std::unique_ptr<CatalogueSoftmaxLoss> catalogue_loss;  // --id-softmax catalogue
};

Trainer::Trainer(TrainerOptions options, std::shared_ptr<const SampleBuilder> builder,
                 model::T5Model model, std::shared_ptr<dist::ProcessMesh> mesh,
                 ValidationHook validate)
    : impl_(std::make_unique<Impl>()),
      options_(std::move(options)),
      builder_(std::move(builder)),
      model_(std::move(model)),
      mesh_(std::move(mesh)),
      validate_(std::move(validate)) {
  GENSAR_INPUT_CHECK(!options_.out.empty(), "--out is required");
  if (builder_->dataset().num_items() > 0)
    id_levels_ = {static_cast<int64_t>(builder_->collaborative_id(0).size()),
                  static_cast<int64_t>(builder_->semantic_id(0).size())};
  if (builder_->options().id_softmax == IdSoftmax::kCatalogue)
    impl_->catalogue_loss = std::make_unique<CatalogueSoftmaxLoss>(*builder_, options_.label_smoothing);
  GENSAR_INPUT_CHECK(options_.batch_size >= 1, "--batch-size must be >= 1 (got {})", options_.batch_size);
  GENSAR_INPUT_CHECK(options_.grad_accum >= 1, "--grad-accum must be >= 1 (got {})", options_.grad_accum);
  GENSAR_INPUT_CHECK(options_.epochs >= 1 || options_.max_steps > 0,
                     "--epochs must be >= 1 unless --max-steps is set");
  GENSAR_INPUT_CHECK(options_.lr > 0, "--lr must be > 0 (got {})", options_.lr);
  GENSAR_CHECK(validate_ || options_.valid_every < 0,
               "the trainer validates every {} steps (0 = once per epoch) but was given no validation",
               options_.valid_every);
  options_.mix.seed = options_.seed;

  global_batch_ = options_.batch_size * options_.grad_accum * mesh_->dp_size();
  state_.tp_size = mesh_->tp_size();
  state_.dp_size = mesh_->dp_size();
  state_.global_batch = global_batch_;
  GENSAR_INPUT_CHECK(options_.bucket_window >= 0, "--bucket-window must be >= 0 (got {})",
                     options_.bucket_window);
  impl_->stream = std::make_unique<SampleStream>(
      *builder_, options_.mix,
      SampleStreamOptions{global_batch_, options_.bucket_window, options_.seed});
  epoch_size_ = impl_->stream->epoch_size();
  total_steps_ = options_.max_steps > 0
                     ? options_.max_steps
                     : (options_.epochs * epoch_size_ + global_batch_ - 1) / global_batch_;
  impl_->nonfinite = NonfiniteGuard(options_.skip_nonfinite);
  impl_->schedule.peak_lr = options_.lr;
  impl_->schedule.total_steps = total_steps_;
  impl_->schedule.warmup_steps = warmup_steps_from_ratio(options_.warmup_ratio, total_steps_);

  // Parameter groups: norm weights get no weight decay (as Hugging Face's Trainer does).
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& item : model_->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    (item.key().find("norm") != std::string::npos ? no_decay : decay).push_back(item.value());
    const bool split = model_->partition_dim(item.key()) != tp::kReplicated && mesh_->tp_size() > 1;
    (split ? impl_->sharded_params : impl_->replicated_params).push_back(item.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(options_.lr).weight_decay(0.0)));
  impl_->optimizer = std::make_unique<torch::optim::AdamW>(groups);

  model_->dropout_rng().reseed(options_.seed, mesh_->dp_rank(), mesh_->tp_rank());
  if (mesh_->dp_size() > 1) {
    dist::ReducerOptions ro;
    ro.bucket_cap_mb = options_.bucket_cap_mb;
    std::vector<torch::Tensor> params;
    for (auto& p : model_->parameters()) params.push_back(p);
    impl_->reducer = std::make_unique<dist::GradientReducer>(params, mesh_->dp(), ro);
  }
  impl_->writer = std::make_unique<dist::CheckpointWriter>(
      run_layout::checkpoints_dir(options_.out), mesh_->world(), options_.keep_last);
  if (mesh_->world_rank() == 0) fs::create_directories(options_.out);
  mesh_->world()->barrier();
  GENSAR_INFO("train", "{} samples per epoch, global batch {} ({} x {} accumulation x {} DP), {} steps, "
              "warm-up {}, mesh {}", epoch_size_, global_batch_, options_.batch_size,
              options_.grad_accum, mesh_->dp_size(), total_steps_, impl_->schedule.warmup_steps,
              mesh_->describe());
}

Trainer::~Trainer() = default;

void Trainer::save_checkpoint(std::optional<double> metric) {
  state_.epoch = epoch_size_ ? state_.consumed_samples / epoch_size_ : 0;
  save_train_checkpoint(*impl_->writer, *mesh_, *model_, *impl_->optimizer, state_, *builder_,
                        options_.checkpoint_files);
  impl_->writer->commit(metric, true);
  GENSAR_INFO("train", "checkpoint at step {} ({} samples consumed)", state_.step,
              state_.consumed_samples);
}

bool Trainer::maybe_resume() {
  auto ref = run_layout::checkpoint_to_resume(options_.out, options_.resume);
  if (!ref) {
    if (options_.resume)
      GENSAR_INFO("train", "--resume: no checkpoint under {}, starting fresh", options_.out);
    return false;
  }
  TrainState saved = load_train_checkpoint(ref->path, *mesh_, *model_, *impl_->optimizer);
  GENSAR_INPUT_CHECK(saved.global_batch == global_batch_,
                     "{}: checkpoint was trained with global batch {}, this run has {} (batch size x "
                     "accumulation x DP): exact resume needs the same global batch",
                     ref->path, saved.global_batch, global_batch_);
  saved.dp_size = mesh_->dp_size();  // the DP size may change on resume (same global batch)
  state_ = saved;
  // The metrics file keeps the steps up to the checkpoint: the resumed run rewrites the rest.
  if (mesh_->world_rank() == 0) {
    const std::string path = run_layout::metrics_path(options_.out);
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      try {
        auto j = nlohmann::json::parse(line);
        if (j.value("step", int64_t{0}) <= state_.step) kept += line + "\n";
      } catch (const std::exception&) {
      }
    }
    in.close();
    dist::write_file_atomically(path, kept);
  }
  GENSAR_INFO("train", "resumed from {} at step {} ({} samples consumed)", ref->path, state_.step,
              state_.consumed_samples);
  return true;
}

namespace {

double global_grad_norm(const std::vector<torch::Tensor>& sharded,
                        const std::vector<torch::Tensor>& replicated, dist::ProcessMesh& mesh) {
  auto sum_sq = [](const std::vector<torch::Tensor>& ps) {
    double s = 0;
    for (const auto& p : ps)
      if (p.grad().defined()) s += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    return s;
  };
  double sharded_sq = sum_sq(sharded);
  if (mesh.tp_size() > 1) {
    torch::Tensor t = torch::tensor({sharded_sq}, torch::kFloat64);
    mesh.tp()->all_reduce(t);
    sharded_sq = t.item<double>();
  }
  return std::sqrt(sharded_sq + sum_sq(replicated));
}

// The tasks whose targets are identifiers with per-level losses (id_levels_: collaborative for rec,
// semantic for search), and a task's slot among them (-1: none).
constexpr Task kLevelTasks[2] = {Task::kRec, Task::kSearch};
int level_slot(Task task) {
  for (int slot = 0; slot < 2; ++slot)
    if (kLevelTasks[slot] == task) return slot;
  return -1;
}

}  // namespace

model::T5Output Trainer::forward_with_loss(const Batch& batch) {
  // One loss path for every option: the model gives logits, the trainer the per-token loss
  // (catalogue-normalised at identifier positions, or over the TP-sharded vocabulary).
  model::T5Output out =
      model_->forward(batch.input_ids, batch.attention_mask, batch.decoder_input_ids, {});
  if (impl_->catalogue_loss) {
    out.token_loss =
        impl_->catalogue_loss->token_losses(model_->gather_logits(out.logits), batch.labels);
  } else {
    const int64_t b = batch.labels.size(0), t = batch.labels.size(1);
    out.token_loss = tp::vocab_parallel_cross_entropy(out.logits.reshape({b * t, -1}),
                                                      batch.labels.reshape({b * t}),
                                                      model_->parallel(), -100,
                                                      options_.label_smoothing)
                         .view({b, t});
  }
  out.token_count = (batch.labels != -100).sum(1);
  out.example_loss = out.token_loss.sum(1) / out.token_count.to(torch::kFloat).clamp_min(1.0);
  return out;
}

StepRecord Trainer::train_step() {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t per_rank = options_.batch_size * options_.grad_accum;
  data::RankSlice slice{global_batch_, mesh_->dp_rank(), mesh_->dp_size()};
  slice.validate();
  // This rank's samples of the global batch starting at consumed_samples.
  const data::PositionRange range = data::rank_positions(slice, state_.consumed_samples);
  std::vector<Sample> samples;
  samples.reserve(per_rank);
  for (int64_t pos = range.begin; pos < range.end; ++pos) samples.push_back(impl_->stream->at(pos));
  // Global label-token count of the step: the loss denominator.
  int64_t local_tokens = 0;
  for (const auto& s : samples) local_tokens += static_cast<int64_t>(s.target.size());
  torch::Tensor tokens_t = torch::tensor({static_cast<double>(local_tokens)}, torch::kFloat64);
  if (mesh_->dp_size() > 1) mesh_->dp()->all_reduce(tokens_t);
  const double global_tokens = tokens_t.item<double>();

  const double lr = impl_->schedule.rate(state_.step);
  for (auto& group : impl_->optimizer->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  impl_->optimizer->zero_grad();

  // [loss sum, example count] per task, the total token loss sum, then the loss sum at each
  // identifier level for rec and search: where the per-token mean hides whether the first code,
  // the one the history must decide, is learnt (docs/training.md, "Per-level loss").
  const int64_t level_base = kNumTasks * 2 + 1;
  const int64_t level_offset[2] = {level_base, level_base + id_levels_[0]};
  torch::Tensor stats =
      torch::zeros({level_base + id_levels_[0] + id_levels_[1]}, torch::kFloat64);
  auto st = stats.accessor<double, 1>();
  for (int64_t m = 0; m < options_.grad_accum; ++m) {
    const int64_t begin = m * options_.batch_size;
    const int64_t end = std::min<int64_t>(begin + options_.batch_size, samples.size());
    if (begin >= end) break;
    std::vector<Sample> micro(samples.begin() + begin, samples.begin() + end);
    Batch batch = collate(micro, builder_->tokenizer().pad_id(),
                          model_->config().decoder_start_token_id);
    const bool last = m + 1 == options_.grad_accum || end == static_cast<int64_t>(samples.size());
    std::optional<dist::GradientReducer::NoSyncGuard> guard;
    if (impl_->reducer && !last) guard.emplace(impl_->reducer.get());
    model::T5Output out = forward_with_loss(batch);
    auto token_sum = out.example_loss * out.token_count.to(torch::kFloat);
    torch::Tensor loss = token_sum.sum() * (static_cast<double>(mesh_->dp_size()) / global_tokens);
    loss.backward();
    if (impl_->reducer && last) impl_->reducer->finish_backward();
    auto ex = out.example_loss.detach().to(torch::kFloat64);
    auto ex_acc = ex.accessor<double, 1>();
    auto ts = token_sum.detach().to(torch::kFloat64);
    auto ts_acc = ts.accessor<double, 1>();
    auto tl = out.token_loss.detach().to(torch::kFloat64);
    auto tl_acc = tl.accessor<double, 2>();
    for (size_t r = 0; r < micro.size(); ++r) {
      const int t = static_cast<int>(batch.tasks[r]);
      st[2 * t] += ex_acc[r];
      st[2 * t + 1] += 1;
      st[kNumTasks * 2] += ts_acc[r];
      const int slot = level_slot(batch.tasks[r]);
      // Position 0 of an identifier target is its marker token, 1..levels its codes.
      if (slot >= 0 && tl.size(1) > id_levels_[slot])
        for (int64_t j = 0; j < id_levels_[slot]; ++j) st[level_offset[slot] + j] += tl_acc[r][j + 1];
    }
  }
  const double grad_norm =
      global_grad_norm(impl_->sharded_params, impl_->replicated_params, *mesh_);
  if (options_.clip > 0 && grad_norm > options_.clip) {
    const double scale = options_.clip / (grad_norm + 1e-6);
    torch::NoGradGuard ng;
    for (auto& p : model_->parameters())
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  if (impl_->nonfinite.admit(state_.step + 1, st[kNumTasks * 2], grad_norm, *mesh_->world()))
    impl_->optimizer->step();
  ++state_.step;
  state_.consumed_samples += global_batch_;
  if (options_.check_replicas_every > 0 && mesh_->dp_size() > 1 &&
      state_.step % options_.check_replicas_every == 0)
    check_replicas_agree(*model_, *mesh_->dp(), state_.step);
  if (mesh_->dp_size() > 1) mesh_->dp()->all_reduce(stats);

  StepRecord rec;
  rec.step = state_.step;
  rec.consumed_samples = state_.consumed_samples;
  rec.loss = st[kNumTasks * 2] / global_tokens;
  for (int t = 0; t < kNumTasks; ++t)
    if (st[2 * t + 1] > 0) rec.task_loss[task_name(static_cast<Task>(t))] = st[2 * t] / st[2 * t + 1];
  for (int slot = 0; slot < 2; ++slot) {
    const int t = static_cast<int>(kLevelTasks[slot]);
    if (st[2 * t + 1] <= 0) continue;
    std::vector<double>& out = rec.id_level_loss[task_name(kLevelTasks[slot])];
    for (int64_t j = 0; j < id_levels_[slot]; ++j)
      out.push_back(st[level_offset[slot] + j] / st[2 * t + 1]);
  }
  rec.lr = lr;
  rec.grad_norm = grad_norm;
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rec.samples_per_s = dt > 0 ? global_batch_ / dt : 0;
  return rec;
}

bool Trainer::validation_due() const {
  if (options_.valid_every < 0) return false;
  const int64_t steps_per_epoch = std::max<int64_t>(1, epoch_size_ / global_batch_);
  const int64_t every = options_.valid_every == 0 ? steps_per_epoch : options_.valid_every;
  return state_.step % every == 0 || state_.step == total_steps_;
}

std::optional<TrainStatus> Trainer::validate_and_checkpoint(TrainingLog& log) {
  log.before_validation();
  ValidationResult vr = validate_();
  model_->train();
  if (vr.stopped) {  // cut short by a stop request: save the step, record no score
    save_checkpoint();
    GENSAR_INFO("train", "stop requested during validation: saved step {}, exiting for requeue",
                state_.step);
    return TrainStatus::kStopRequested;
  }
  const bool improved = vr.score > state_.best_metric;
  if (improved) {
    state_.best_metric = vr.score;
    state_.bad_validations = 0;
  } else {
    ++state_.bad_validations;
  }
  log.validation(state_.step, state_.consumed_samples, vr, state_.best_metric, improved);
  save_checkpoint(vr.score);
  if (options_.patience > 0 && state_.bad_validations >= options_.patience) {
    GENSAR_INFO("train", "early stop: {} validations without improvement", state_.bad_validations);
    return TrainStatus::kEarlyStopped;
  }
  return std::nullopt;
}

TrainStatus Trainer::run() {
  TrainingLogOptions lo;
  lo.metrics_path = run_layout::metrics_path(options_.out);
  lo.rank0 = mesh_->world_rank() == 0;
  lo.progress = options_.progress;
  lo.log_every = options_.log_every;
  lo.total_steps = total_steps_;
  lo.global_batch = global_batch_;
  lo.epoch_size = epoch_size_;
  TrainingLog log(lo);
  model_->train();

  int64_t steps_this_call = 0;
  while (state_.step < total_steps_) {
    history_.push_back(train_step());
    ++steps_this_call;
    log.step(history_.back());

    bool saved = false;
    if (validation_due()) {
      if (auto end = validate_and_checkpoint(log)) return *end;
      saved = true;
    }
    if (!saved && options_.save_every > 0 && state_.step % options_.save_every == 0) {
      save_checkpoint();
      saved = true;
    }
    bool stop = dist::should_stop(*mesh_->world());
    if (stop_after_ >= 0 && steps_this_call >= stop_after_) stop = true;
    if (stop) {
      if (!saved) save_checkpoint();
      GENSAR_INFO("train", "stop requested: saved step {}, exiting for requeue", state_.step);
      return TrainStatus::kStopRequested;
    }
    if (state_.step == total_steps_ && !saved) save_checkpoint();
  }
  return TrainStatus::kFinished;
}

}  // namespace gensar::train
