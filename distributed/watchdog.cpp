#include "distributed/watchdog.h"

#include "core/common/log.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace gensar::dist {
namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  const char* what;
  std::string where;
  Clock::time_point start;
  bool exempt;  // waits on a peer's long single-rank phase (LongPhaseWait)
};

thread_local const char* t_long_phase = nullptr;

double initial_timeout() {
  if (const char* v = std::getenv("GENSAR_COLLECTIVE_TIMEOUT")) return std::atof(v);
  return 1800.0;
}

std::atomic<AbortFunction> g_abort{nullptr};

// Leaked on purpose: it must outlive static destructors and atexit handlers (MPI_Finalize runs in
// one and may itself block on a dead peer).
class Watchdog {
 public:
  static Watchdog& get() {
    static Watchdog* instance = new Watchdog();
    return *instance;
  }

  std::uint64_t enter(const char* what, const std::string& where) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_started_) {
      thread_started_ = true;
      std::thread([this] { loop(); }).detach();
    }
    std::uint64_t id = ++next_id_;
    pending_.emplace(id, Pending{what, where, Clock::now(), t_long_phase != nullptr});
    return id;
  }

  void leave(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(id);
  }

  std::atomic<double> timeout_s{initial_timeout()};

 private:
  void loop() {
    for (;;) {
      double timeout = timeout_s.load();
      // Poll at a tenth of the timeout (bounded) so the abort comes within ~10% of it.
      double poll = timeout > 0 ? std::min(std::max(timeout / 10.0, 0.02), 1.0) : 1.0;
      std::this_thread::sleep_for(std::chrono::duration<double>(poll));
      if (timeout <= 0) continue;
      std::unique_lock<std::mutex> lock(mu_);
      auto now = Clock::now();
      for (const auto& [id, p] : pending_) {
        double age = std::chrono::duration<double>(now - p.start).count();
        if (age < timeout || p.exempt) continue;
        std::string message = fmt::format(
            "collective '{}' on {} did not complete within {:.1f} s (collective timeout {:.1f} s) on "
            "rank {}: a peer rank died or stalled; aborting the job with exit status {}",
            p.what, p.where, age, timeout, log::rank(), kExitCollectiveTimeout);
        lock.unlock();
        log::write(log::Level::kError, "dist", message);
        abort_job(kExitCollectiveTimeout);
      }
    }
  }

  std::mutex mu_;
  bool thread_started_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Pending> pending_;
};

}  // namespace

void set_collective_timeout(double seconds) { Watchdog::get().timeout_s = seconds; }
double collective_timeout() { return Watchdog::get().timeout_s.load(); }
void set_abort_function(AbortFunction fn) { g_abort = fn; }

void abort_job(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (AbortFunction fn = g_abort.load()) fn(exit_code);
  _exit(exit_code);
}

LongPhaseWait::LongPhaseWait(const char* phase) : previous_(t_long_phase) { t_long_phase = phase; }
LongPhaseWait::~LongPhaseWait() { t_long_phase = previous_; }

WatchdogScope::WatchdogScope(const char* what, const std::string& where)
    : id_(Watchdog::get().enter(what, where)) {}
WatchdogScope::~WatchdogScope() { Watchdog::get().leave(id_); }

}  // namespace gensar::dist
