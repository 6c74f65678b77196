#include "core/train/training_log.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/log.h"

namespace gensar::train {
namespace {

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = static_cast<int64_t>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

TrainingLog::TrainingLog(TrainingLogOptions options)
    : o_(std::move(options)),
      tty_(o_.progress && o_.rank0 && isatty(fileno(stderr))),
      window_start_(std::chrono::steady_clock::now()) {
  if (o_.rank0) metrics_.open(o_.metrics_path, std::ios::app);
}

TrainingLog::~TrainingLog() {
  if (tty_) std::fprintf(stderr, "\n");
}

void TrainingLog::step(const StepRecord& rec) {
  window_samples_ += o_.global_batch;
  if (!o_.rank0) return;
  nlohmann::json j = {{"step", rec.step}, {"consumed_samples", rec.consumed_samples},
                      {"epoch", rec.consumed_samples / o_.epoch_size}, {"loss", rec.loss},
                      {"task_loss", rec.task_loss}, {"lr", rec.lr},
                      {"grad_norm", rec.grad_norm}, {"samples_per_s", rec.samples_per_s}};
  if (!rec.id_level_loss.empty()) j["id_level_loss"] = rec.id_level_loss;
  metrics_ << j.dump() << "\n";
  metrics_.flush();
  const double window_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start_).count();
  const double sps = window_s > 0 ? window_samples_ / window_s : 0;
  const double eta = sps > 0 ? (o_.total_steps - rec.step) * o_.global_batch / sps : -1;
  std::ostringstream tasks;
  for (const auto& [name, v] : rec.task_loss) tasks << " " << name << "=" << fmt::format("{:.3f}", v);
  if (tty_) {
    const int width = 24;
    const int filled = static_cast<int>(width * rec.step / std::max<int64_t>(1, o_.total_steps));
    std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.4f%s lr %.2e %.1f samples/s ETA %s   ",
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 static_cast<long long>(rec.step), static_cast<long long>(o_.total_steps), rec.loss,
                 tasks.str().c_str(), rec.lr, sps, format_eta(eta).c_str());
    std::fflush(stderr);
  } else if (o_.progress && (rec.step % std::max<int64_t>(1, o_.log_every) == 0 ||
                             rec.step == o_.total_steps)) {
    GENSAR_INFO("train", "step {}/{} loss {:.4f}{} lr {:.3e} grad-norm {:.3f} {:.1f} samples/s ETA {}",
                rec.step, o_.total_steps, rec.loss, tasks.str(), rec.lr, rec.grad_norm, sps,
                format_eta(eta));
  }
}

void TrainingLog::before_validation() {
  if (tty_) std::fprintf(stderr, "\n");
}

void TrainingLog::validation(int64_t step, int64_t consumed_samples, const ValidationResult& vr,
                             double best, bool improved) {
  if (o_.rank0) {
    nlohmann::json j = {{"step", step}, {"consumed_samples", consumed_samples},
                        {"validation", vr.metrics}, {"score", vr.score},
                        {"score_stderr", vr.score_stderr}, {"best", best},
                        {"seconds", vr.seconds}};
    metrics_ << j.dump() << "\n";
    metrics_.flush();
  }
  auto metric = [&](const char* key) {
    auto it = vr.metrics.find(key);
    return it == vr.metrics.end() ? 0.0 : it->second;
  };
  GENSAR_INFO("train", "validation at step {}: score (mean NDCG@5) {:.4f} +- {:.4f}{}; rec hr@10 "
              "{:.4f} ndcg@10 {:.4f}; search hr@10 {:.4f} ndcg@10 {:.4f} ({:.0f} s)",
              step, vr.score, vr.score_stderr, improved ? " (best)" : "", metric("rec.hr@10"),
              metric("rec.ndcg@10"), metric("search.hr@10"), metric("search.ndcg@10"), vr.seconds);
}

}  // namespace gensar::train
