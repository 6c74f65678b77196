#include "distributed/stop_signal.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "core/common/log.h"
#include "distributed/watchdog.h"

namespace gensar::dist {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int signal_number) {
  g_signal = signal_number;
  g_stop = 1;
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and MPI progress continue after the handler
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool stop_requested_locally() { return g_stop != 0; }
void request_stop() { g_stop = 1; }
int stop_signal_number() { return g_signal; }
void clear_stop_request() {
  g_stop = 0;
  g_signal = 0;
}

bool should_stop(Communicator& comm) {
  torch::Tensor flag = torch::full({1}, g_stop ? 1 : 0, torch::kInt);
  comm.all_reduce(flag, ReduceOp::kMax);
  return flag.item<int>() != 0;
}

struct StopExitsScope::State {
  std::string phase;
  std::atomic<bool> done{false};
  std::thread poller;
};

StopExitsScope::StopExitsScope(std::string phase) : state_(std::make_unique<State>()) {
  state_->phase = std::move(phase);
  State* st = state_.get();
  st->poller = std::thread([st] {
    while (!st->done.load()) {
      if (g_stop) {
        GENSAR_WARN("dist", "stop requested (signal {}) during {}: nothing to save in this phase, "
                    "ending the job with exit status {} for requeue", static_cast<int>(g_signal),
                    st->phase, kExitRequeue);
        abort_job(kExitRequeue);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

StopExitsScope::~StopExitsScope() {
  state_->done = true;
  state_->poller.join();
}

}  // namespace gensar::dist
