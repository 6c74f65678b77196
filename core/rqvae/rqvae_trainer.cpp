#include "core/rqvae/rqvae_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/common/check.h"
#include "core/common/h5.h"
#include "core/common/log.h"
#include "core/common/seed.h"
#include "core/rqvae/decollide.h"
#include "core/rqvae/quantize.h"
#include "core/rqvae/rqvae_model.h"
#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"

namespace gensar::rqvae {
namespace {

constexpr const char* kLog = "index";

// A view, not a copy: the tables outlive training, and 1M x 768 floats are 3 GB.
torch::Tensor to_tensor(const EmbeddingTable& t) {
  return torch::from_blob(const_cast<float*>(t.values.data()), {t.rows(), t.dim}, torch::kFloat);
}

std::vector<int32_t> to_int_rows(const torch::Tensor& codes) {
  auto c = codes.to(torch::kInt).contiguous();
  return std::vector<int32_t>(c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel());
}

uint64_t fnv(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Whole-dataset argmin assignment, in chunks.
RqvaeAssignment assign_all(RqvaeModelImpl& model, const torch::Tensor& text, const torch::Tensor& collab,
                           int64_t chunk) {
  std::vector<torch::Tensor> sem, col, sem_r, col_r;
  for (int64_t start = 0; start < text.size(0); start += chunk) {
    int64_t len = std::min(chunk, text.size(0) - start);
    auto a = model.assign(text.narrow(0, start, len), collab.narrow(0, start, len));
    sem.push_back(a.sem_codes);
    col.push_back(a.col_codes);
  }
  RqvaeAssignment out;
  out.sem_codes = torch::cat(sem);
  out.col_codes = torch::cat(col);
  return out;
}

struct Evaluation {
  double sem_collision = 0, col_collision = 0, recon_sem = 0, recon_col = 0, vq = 0;
  double mean_collision(IdMode mode) const {
    if (mode == IdMode::kSemanticOnly) return sem_collision;
    if (mode == IdMode::kCollabOnly) return col_collision;
    return (sem_collision + col_collision) / 2;
  }
};

Evaluation evaluate(RqvaeModelImpl& model, const torch::Tensor& text, const torch::Tensor& collab,
                    const RqvaeOptions& o, const RqvaeLossWeights& w) {
  torch::NoGradGuard no_grad;
  Evaluation e;
  auto a = assign_all(model, text, collab, o.chunk_rows);
  e.sem_collision = collision_rate(to_int_rows(a.sem_codes), a.sem_codes.size(1));
  e.col_collision = collision_rate(to_int_rows(a.col_codes), a.col_codes.size(1));
  int64_t n = text.size(0);
  for (int64_t start = 0; start < n; start += o.chunk_rows) {
    int64_t len = std::min(o.chunk_rows, n - start);
    auto out = model.forward(text.narrow(0, start, len), collab.narrow(0, start, len), w, 0, 0);
    double share = static_cast<double>(len) / static_cast<double>(n);
    e.recon_sem += out.recon_sem.item<double>() * share;
    e.recon_col += out.recon_col.item<double>() * share;
    e.vq += out.vq.item<double>() * share;
  }
  return e;
}

nlohmann::json level_stats(const std::string& prefix, const torch::Tensor& codes, int64_t k,
                           double collapse_warn, std::vector<std::string>& warnings) {
  auto counts = torch::bincount(codes, {}, k).to(torch::kDouble);
  int64_t n = codes.numel();
  int64_t used = (counts > 0).sum().item<int64_t>();
  auto p = counts / std::max<int64_t>(n, 1);
  double entropy = -(p * torch::where(p > 0, p.log(), torch::zeros_like(p))).sum().item<double>();
  double usage = static_cast<double>(used) / static_cast<double>(k);
  double reachable = static_cast<double>(std::min<int64_t>(k, n));
  if (reachable > 0 && used < collapse_warn * reachable) {
    warnings.push_back(fmt::format("codebook collapse: level {} uses {} of {} codes", prefix, used, k));
    GENSAR_WARN(kLog, "{}", warnings.back());
  }
  return {{"level", prefix}, {"codes", k}, {"used", used}, {"usage", usage},
          {"perplexity", std::exp(entropy)}};
}

std::vector<IdentifierLevel> make_levels(const std::vector<std::string>& shared_prefix,
                                         const std::vector<int64_t>& shared_codes,
                                         const std::vector<std::string>& prefix,
                                         const std::vector<int64_t>& codes) {
  std::vector<IdentifierLevel> levels;
  for (size_t l = 0; l < shared_codes.size(); ++l)
    levels.push_back({shared_prefix[l], static_cast<int32_t>(shared_codes[l]), true});
  for (size_t l = 0; l < codes.size(); ++l)
    levels.push_back({prefix[l], static_cast<int32_t>(codes[l]), false});
  return levels;
}

// MSE of residual k-means over `x` with levels of the given code counts (first `a`, then `b`).
double residual_kmeans_mse(const torch::Tensor& x, const std::vector<int64_t>& a,
                           const std::vector<int64_t>& b, int iterations) {
  torch::NoGradGuard no_grad;
  auto residual = x.clone();
  for (const auto* codes : {&a, &b}) {
    for (int64_t k : *codes) {
      auto book = kmeans(residual, k, iterations);
      residual = residual - book.index_select(0, nearest_codes(residual, book));
    }
  }
  return residual.pow(2).mean().item<double>();
}

NamedArray named_array(const std::string& name, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat).contiguous();
  NamedArray a{name, {}, std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
  for (auto s : c.sizes()) a.dims.push_back(static_cast<uint64_t>(s));
  return a;
}

// ---- training --------------------------------------------------------------------------------

// AdamW with two groups so the codebooks can learn faster than the MLPs (--codebook-lr-scale,
// 1 = paper).
std::unique_ptr<torch::optim::AdamW> make_optimizer(RqvaeModel& model, const RqvaeOptions& o) {
  std::vector<torch::Tensor> net_params, book_params;
  for (const auto& item : model->named_parameters())
    (item.key().rfind("codebook_", 0) == 0 ? book_params : net_params).push_back(item.value());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(net_params, std::make_unique<torch::optim::AdamWOptions>(
                                      torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(book_params, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(o.lr * o.codebook_lr_scale)
                                           .weight_decay(o.weight_decay)));
  return std::make_unique<torch::optim::AdamW>(
      std::move(groups), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
}

// How often each code of each level was chosen since the last re-seed, in level_sizes() order:
// shared levels, then each side's specific levels.
class CodeUsage {
 public:
  CodeUsage(std::vector<int64_t> level_sizes, size_t shared_levels)
      : sizes_(std::move(level_sizes)), shared_(shared_levels) {
    reset();
  }
  void reset() {
    counts_.clear();
    for (int64_t k : sizes_) counts_.push_back(torch::zeros({k}, torch::kLong));
  }
  void count(const RqvaeOutput& out) {
    size_t level = 0;
    for (size_t l = 0; l < shared_; ++l, ++level)
      counts_[level] += torch::bincount(out.sem_codes.select(1, l), {}, sizes_[level]);
    for (const auto* codes : {&out.sem_codes, &out.col_codes}) {
      const int64_t specific = codes->size(1) - static_cast<int64_t>(shared_);
      for (int64_t l = 0; l < specific; ++l, ++level)
        counts_[level] += torch::bincount(codes->select(1, shared_ + l), {}, sizes_[level]);
    }
  }
  std::vector<torch::Tensor>& counts() { return counts_; }

 private:
  std::vector<int64_t> sizes_;
  size_t shared_;
  std::vector<torch::Tensor> counts_;
};

// Step budget and the linear warm-up then linear decay of the learning rate.
struct RqvaeSchedule {
  int64_t steps_per_epoch, total_steps, warmup_steps;
  int epochs;
  RqvaeSchedule(int64_t n, const RqvaeOptions& o) {
    steps_per_epoch = (n + o.batch_size - 1) / o.batch_size;
    total_steps = o.steps > 0 ? o.steps : steps_per_epoch * o.epochs;
    warmup_steps = o.steps > 0 ? total_steps * o.warmup_epochs / std::max(o.epochs, 1)
                               : steps_per_epoch * o.warmup_epochs;
    epochs = static_cast<int>((total_steps + steps_per_epoch - 1) / steps_per_epoch);
  }
  double lr(int64_t step, double peak) const {
    if (step < warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    int64_t decay = std::max<int64_t>(total_steps - warmup_steps, 1);
    return peak * std::max(0.0, static_cast<double>(total_steps - step) / static_cast<double>(decay));
  }
};

// What training kept, for the report.
struct TrainedRqvae {
  int best_epoch = -1;
  double best_collision = 0;
  int64_t steps = 0;
  int64_t reseeded = 0;
  nlohmann::json history = nlohmann::json::array();
};

// Trains `model` (replicated over `comm`'s ranks, each taking a slice of every batch) and leaves
// it holding the parameters of the evaluation kept by --select.
TrainedRqvae train_rqvae(RqvaeModel& model, const torch::Tensor& text, const torch::Tensor& collab,
                         const RqvaeOptions& o, const RqvaeLossWeights& weights,
                         const std::shared_ptr<dist::Communicator>& comm) {
  const int rank = comm ? comm->rank() : 0;
  const int world = comm ? comm->size() : 1;
  const int64_t n = text.size(0);
  std::vector<torch::Tensor> params = model->parameters();
  if (world > 1) {
    for (auto& p : params) {
      torch::NoGradGuard no_grad;
      auto t = p.detach();
      comm->broadcast(t, 0);
    }
  }
  auto optimizer = make_optimizer(model, o);
  // Data parallel: gradients averaged over the ranks (before clipping) by the project's one
  // reducer; the parameters were broadcast just above.
  std::unique_ptr<dist::GradientReducer> reducer;
  if (world > 1) {
    dist::ReducerOptions ro;
    ro.broadcast_parameters = false;
    reducer = std::make_unique<dist::GradientReducer>(params, comm, ro);
  }
  const RqvaeSchedule schedule(n, o);
  const int64_t reseed_until = schedule.total_steps * 8 / 10;
  CodeUsage usage(model->level_sizes(), o.shared_codes.size());

  TrainedRqvae trained;
  double best_rate = std::numeric_limits<double>::infinity(), best_loss = 0;
  std::vector<torch::Tensor> best_params;
  int64_t& step = trained.steps;
  for (int epoch = 1; epoch <= schedule.epochs && step < schedule.total_steps; ++epoch) {
    // Same permutation on every rank (same seed); each rank takes its slice of every batch.
    auto perm = torch::randperm(n, torch::kLong);
    double epoch_loss = 0;
    for (int64_t b = 0; b < schedule.steps_per_epoch && step < schedule.total_steps; ++b, ++step) {
      int64_t start = b * o.batch_size, len = std::min(o.batch_size, n - start);
      auto batch = perm.narrow(0, start, len);
      if (step == 0) model->init_codebooks(text.index_select(0, batch), collab.index_select(0, batch),
                                           o.kmeans_iterations);
      int64_t lo = len * rank / world, hi = len * (rank + 1) / world;
      auto mine = batch.narrow(0, lo, hi - lo);
      double lr = schedule.lr(step, o.lr);
      static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[0].options()).lr(lr);
      static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[1].options())
          .lr(lr * o.codebook_lr_scale);
      optimizer->zero_grad();
      auto out = model->forward(text.index_select(0, mine), collab.index_select(0, mine), weights,
                                o.sinkhorn_epsilon, o.sinkhorn_iterations);
      out.loss.backward();
      if (reducer) reducer->finish_backward();
      if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
      optimizer->step();
      usage.count(out);
      if (o.reseed_every > 0 && (step + 1) % o.reseed_every == 0 && step + 1 < reseed_until) {
        // Every rank counts its slice; the re-seed itself uses the whole batch (identical on all
        // ranks, as is the global generator), so the codebooks stay replicated.
        if (world > 1)
          for (auto& u : usage.counts()) comm->all_reduce(u);
        trained.reseeded += model->reseed_dead_codes(text.index_select(0, batch),
                                                     collab.index_select(0, batch), usage.counts());
        usage.reset();
      }
      epoch_loss += out.loss.item<double>() * static_cast<double>(len) / static_cast<double>(n);
    }
    if (epoch % std::max(o.eval_every, 1) == 0 || epoch == schedule.epochs) {
      Evaluation e = evaluate(*model, text, collab, o, weights);
      const double recon = e.recon_sem + e.recon_col;
      // Selection key, lower is better: (primary, tie-break). Checkpoints in warm-up are not kept
      // by reconstruction (the codebooks are still moving fast).
      double rate = o.select == "recon" ? recon : e.mean_collision(o.id_mode);
      double loss = o.select == "recon" ? e.mean_collision(o.id_mode) : recon + e.vq;
      if (o.select == "recon" && step < schedule.warmup_steps && epoch != schedule.epochs) rate = 1e300;
      trained.history.push_back({{"epoch", epoch}, {"train_loss", epoch_loss},
                                 {"collision", e.mean_collision(o.id_mode)},
                                 {"recon_sem", e.recon_sem}, {"recon_col", e.recon_col}, {"vq", e.vq}});
      GENSAR_INFO(kLog, "epoch {}/{} (step {}) loss {:.5f} collision sem {:.4f} col {:.4f} recon {:.5f}/{:.5f}",
                  epoch, schedule.epochs, step, epoch_loss, e.sem_collision, e.col_collision,
                  e.recon_sem, e.recon_col);
      if (rate < best_rate || (rate == best_rate && loss < best_loss)) {
        best_rate = rate;
        trained.best_collision = e.mean_collision(o.id_mode);
        best_loss = loss;
        trained.best_epoch = epoch;
        best_params.clear();
        for (auto& p : params) best_params.push_back(p.detach().clone());
      }
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  return trained;
}

// ---- identifiers -----------------------------------------------------------------------------

// Code use and perplexity of every level of the final assignment.
nlohmann::json level_report(RqvaeModel& model, const RqvaeAssignment& assignment,
                            const RqvaeOptions& o, std::vector<std::string>& warnings) {
  nlohmann::json levels = nlohmann::json::array();
  const size_t shared = o.shared_codes.size();
  for (size_t l = 0; l < shared; ++l)
    levels.push_back(level_stats(model->shared_prefixes()[l], assignment.sem_codes.select(1, l),
                                 o.shared_codes[l], o.collapse_warn, warnings));
  for (size_t l = 0; l < o.sem_codes.size(); ++l)
    levels.push_back(level_stats(model->sem_prefixes()[l], assignment.sem_codes.select(1, shared + l),
                                 o.sem_codes[l], o.collapse_warn, warnings));
  for (size_t l = 0; l < o.col_codes.size(); ++l)
    levels.push_back(level_stats(model->col_prefixes()[l], assignment.col_codes.select(1, shared + l),
                                 o.col_codes[l], o.collapse_warn, warnings));
  return levels;
}

// Re-assigns the last specific level of colliding items: Sinkhorn over each colliding group.
// The returned function holds `model` and `o` by reference: both outlive de-collision.
LastLevelReassigner make_reassigner(RqvaeModel& model, torch::Tensor text, torch::Tensor collab,
                                    const RqvaeOptions& o, bool semantic) {
  const auto& books = semantic ? model->sem_codebooks() : model->col_codebooks();
  if (books.empty()) return nullptr;
  return [&model, &o, text, collab, semantic](const std::vector<int64_t>& items,
                                              const std::vector<int64_t>& group, int64_t) {
    const auto& books = semantic ? model->sem_codebooks() : model->col_codebooks();
    // Chunks of whole groups (items sorted by group), at most chunk_rows items where possible,
    // so 1M colliding items never need one [M, K] double matrix.
    std::vector<int64_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return group[a] < group[b]; });
    std::vector<int32_t> codes(items.size());
    size_t begin = 0;
    while (begin < order.size()) {
      size_t end = begin;
      while (end < order.size()) {
        size_t group_end = end;
        while (group_end < order.size() && group[order[group_end]] == group[order[end]]) ++group_end;
        if (end > begin && static_cast<int64_t>(group_end - begin) > o.chunk_rows) break;
        end = group_end;
      }
      std::vector<int64_t> rows, local_group;
      int64_t first_group = group[order[begin]];
      for (size_t i = begin; i < end; ++i) {
        rows.push_back(items[order[i]]);
        local_group.push_back(group[order[i]] - first_group);
      }
      auto idx = torch::tensor(rows, torch::kLong);
      auto a = model->assign(text.index_select(0, idx), collab.index_select(0, idx));
      auto residual = semantic ? a.sem_last_residual : a.col_last_residual;
      auto d = squared_distances(residual, books.back().detach());
      auto c = to_int_rows(sinkhorn_codes(d, o.sinkhorn_epsilon > 0 ? o.sinkhorn_epsilon : 0.003,
                                          o.sinkhorn_iterations, torch::tensor(local_group, torch::kLong),
                                          local_group.back() + 1));
      for (size_t i = begin; i < end; ++i) codes[order[i]] = c[i - begin];
      begin = end;
    }
    return codes;
  };
}

// De-collides one identifier kind in place (Sinkhorn rounds, then a suffix level where needed)
// and returns its report.
nlohmann::json decollide_kind(ItemIdentifiers& ids, bool semantic, const RqvaeOptions& o,
                              const LastLevelReassigner& reassign) {
  auto& table = semantic ? ids.sem_ids : ids.col_ids;
  auto& lv = semantic ? ids.sem_levels : ids.col_levels;
  size_t length = lv.size();  // decollide widens it when it adds a suffix
  DecollideStats s = decollide(table, length, o.decollide_rounds, reassign);
  if (s.suffix_codes > 0) lv.push_back({"sfx", s.suffix_codes, false});
  GENSAR_INFO(kLog, "{} IDs: collision rate {:.4f} -> {:.4f} after {} Sinkhorn rounds; {} items got a "
              "non-zero suffix", semantic ? "semantic" : "collaborative", s.rate_before,
              s.rate_after_rounds, s.rounds, s.suffixed_items);
  return nlohmann::json{{"collision_rate_before", s.rate_before},
                        {"collision_rate_after_sinkhorn", s.rate_after_rounds},
                        {"collision_rate_after", s.rate_after},
                        {"sinkhorn_rounds", s.rounds},
                        {"suffixed_items", s.suffixed_items},
                        {"suffix_codes", s.suffix_codes},
                        {"length", lv.size()}};
}

}  // namespace


IdMode parse_id_mode(const std::string& name) {
  if (name == "joint") return IdMode::kJoint;
  if (name == "semantic-only") return IdMode::kSemanticOnly;
  if (name == "collab-only") return IdMode::kCollabOnly;
  throw InputError(fmt::format("--id-mode: '{}' is not one of joint, semantic-only, collab-only", name));
}

std::string id_mode_name(IdMode mode) {
  switch (mode) {
    case IdMode::kJoint: return "joint";
    case IdMode::kSemanticOnly: return "semantic-only";
    case IdMode::kCollabOnly: return "collab-only";
  }
  return "?";
}

RqvaeResult build_identifiers(const EmbeddingTable& text_table, const EmbeddingTable& collab_table,
                              const RqvaeOptions& o, const std::string& config_text,
                              std::shared_ptr<dist::Communicator> comm) {
  GENSAR_CHECK(text_table.keys == collab_table.keys, "collaborative table is not aligned to the text table");
  GENSAR_INPUT_CHECK(text_table.rows() > 0, "{}: no items", text_table.path);
  GENSAR_INPUT_CHECK(o.epochs >= 1 && o.batch_size >= 1, "--epochs and --batch-size must be >= 1");
  GENSAR_INPUT_CHECK(o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs,
                     "--warmup-epochs {} must lie in [0, epochs={}]", o.warmup_epochs, o.epochs);
  GENSAR_INPUT_CHECK(!o.sem_codes.empty() || !o.col_codes.empty() || !o.shared_codes.empty(),
                     "the RQ-VAE needs at least one codebook level");
  GENSAR_INPUT_CHECK(o.select == "recon" || o.select == "collision",
                     "--select: expected recon or collision, got '{}'", o.select);
  GENSAR_INPUT_CHECK(o.steps >= 0 && o.reseed_every >= 0, "--steps and --reseed-every must be >= 0");
  auto started = std::chrono::steady_clock::now();
  torch::manual_seed(seed::derive(o.seed, seed::Purpose::kRqVae));

  auto text = to_tensor(text_table);
  auto collab = to_tensor(collab_table);
  const int64_t n = text.size(0);
  if (o.standardize) {
    // Copies (the views above stay untouched); the statistics are over all items.
    auto zscore = [](const torch::Tensor& x) {
      return (x - x.mean(0, true)) / x.std(0, /*unbiased=*/false, true).clamp_min(1e-8);
    };
    text = zscore(text);
    collab = zscore(collab);
  }

  RqvaeShape shape;
  shape.text_dim = text_table.dim;
  shape.collab_dim = collab_table.dim;
  shape.hidden = o.hidden;
  shape.shared_codes = o.shared_codes;
  shape.sem_codes = o.sem_codes;
  shape.col_codes = o.col_codes;
  RqvaeModel model(shape);
  RqvaeLossWeights weights{o.beta, o.sem_recon_weight, o.col_recon_weight, o.vq_weight};
  const TrainedRqvae trained = train_rqvae(model, text, collab, o, weights, comm);

  // Final assignment and de-collision with the kept checkpoint.
  RqvaeResult result;
  Evaluation final_eval = evaluate(*model, text, collab, o, weights);
  auto assignment = assign_all(*model, text, collab, o.chunk_rows);
  nlohmann::json levels = level_report(model, assignment, o, result.warnings);

  ItemIdentifiers& ids = result.ids;
  ids.item_keys = text_table.keys;
  ids.id_mode = id_mode_name(o.id_mode);
  ids.sem_levels = make_levels(model->shared_prefixes(), o.shared_codes, model->sem_prefixes(), o.sem_codes);
  ids.col_levels = make_levels(model->shared_prefixes(), o.shared_codes, model->col_prefixes(), o.col_codes);
  ids.sem_ids = to_int_rows(assignment.sem_codes);
  ids.col_ids = to_int_rows(assignment.col_codes);
  nlohmann::json sem_report, col_report;
  if (o.id_mode != IdMode::kCollabOnly)
    sem_report = decollide_kind(ids, true, o, make_reassigner(model, text, collab, o, true));
  if (o.id_mode != IdMode::kSemanticOnly)
    col_report = decollide_kind(ids, false, o, make_reassigner(model, text, collab, o, false));
  if (o.id_mode == IdMode::kSemanticOnly) {
    ids.col_levels = ids.sem_levels;
    ids.col_ids = ids.sem_ids;
    col_report = sem_report;
  } else if (o.id_mode == IdMode::kCollabOnly) {
    ids.sem_levels = ids.col_levels;
    ids.sem_ids = ids.col_ids;
    sem_report = col_report;
  }
  uint64_t input_hash = fingerprint(collab_table, fingerprint(text_table));
  uint64_t config_hash = fnv(config_text, input_hash);
  ids.config_hash = fmt::format("{:016x}", config_hash);
  ids.validate();

  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor& p = item.value();
    if (name.rfind("codebook_", 0) == 0)
      result.codebooks.push_back(named_array(name.substr(9), p));
    else
      result.weights.push_back(named_array(name, p));
  }
  // The baseline the RQ-VAE must beat: residual k-means straight on each side's (standardised)
  // inputs with the same code budget as that side's identifier, no encoder or decoder.
  nlohmann::json kmeans_baseline = {
      {"recon_sem", residual_kmeans_mse(text, o.shared_codes, o.sem_codes, o.kmeans_iterations)},
      {"recon_col", residual_kmeans_mse(collab, o.shared_codes, o.col_codes, o.kmeans_iterations)}};
  GENSAR_INFO(kLog, "reconstruction MSE sem {:.4f} col {:.4f}; residual k-means with the same codes: "
              "sem {:.4f} col {:.4f}", final_eval.recon_sem, final_eval.recon_col,
              kmeans_baseline["recon_sem"].get<double>(), kmeans_baseline["recon_col"].get<double>());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.report = {
      {"items", n},
      {"id_mode", ids.id_mode},
      {"config_hash", ids.config_hash},
      {"input_hash", fmt::format("{:016x}", input_hash)},
      {"best_epoch", trained.best_epoch},
      {"mean_collision_rate_at_best", trained.best_collision},
      {"select", o.select},
      {"standardized_inputs", o.standardize},
      {"steps", trained.steps},
      {"reseeded_codes", trained.reseeded},
      {"kmeans_baseline", kmeans_baseline},
      {"recon_mse_sem", final_eval.recon_sem},
      {"recon_mse_col", final_eval.recon_col},
      {"vq_loss", final_eval.vq},
      {"semantic", sem_report},
      {"collaborative", col_report},
      {"levels", levels},
      {"history", trained.history},
      {"warnings", result.warnings},
      {"seconds", seconds},
  };
  GENSAR_INFO(kLog, "kept epoch {} (mean collision {:.4f}); recon MSE sem {:.5f} col {:.5f}; {:.1f} s",
              trained.best_epoch, trained.best_collision, final_eval.recon_sem, final_eval.recon_col, seconds);
  return result;
}

std::string report_path_for(const std::string& path) {
  const std::string ext = ".h5";
  if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
    return path.substr(0, path.size() - ext.size()) + ".report.json";
  return path + ".report.json";
}

void write_identifiers_file(const std::string& path, const RqvaeResult& result,
                            const std::string& config_text) {
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  {
    h5::File f = h5::File::create(path);
    write_identifiers(f, result.ids);
    f.create_group("codebooks");
    for (const auto& a : result.codebooks) f.write("codebooks/" + a.name, a.values.data(), a.dims);
    f.create_group("model");
    for (const auto& a : result.weights) f.write("model/" + a.name, a.values.data(), a.dims);
    f.write_attr("config", config_text);
    f.write_attr("input_hash", result.report.value("input_hash", ""));
  }
  std::ofstream report(report_path_for(path));
  GENSAR_INPUT_CHECK(report.good(), "{}: cannot write the report", report_path_for(path));
  report << result.report.dump(2) << "\n";
}

}  // namespace gensar::rqvae
