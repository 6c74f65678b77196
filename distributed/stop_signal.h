// Coordinated stop: SIGTERM (Slurm's preemption/time-limit warning, `scancel`) and SIGUSR1 (sent
// early with `#SBATCH --signal=USR1@120`) only set a flag; should_stop() all-reduces it (MAX), so
// every rank sees the same answer at the same step, saves the same checkpoint and exits together.
#pragma once

#include "distributed/communicator.h"

#include <memory>
#include <string>

namespace gensar::dist {

// Exit status after a signal-triggered save: EX_TEMPFAIL ("try again"). cluster/train.sbatch
// requeues the job when it sees it.
constexpr int kExitRequeue = 75;

// Installs the SIGTERM and SIGUSR1 handlers (idempotent).
void install_stop_signal_handlers();

// This rank's flag (set by a handler or request_stop()); no communication.
bool stop_requested_locally();
// Sets the local flag, as a handler would (tests, or a trainer that hit its time budget).
void request_stop();
// Which signal set the flag (0 when request_stop() did or none).
int stop_signal_number();
// Clears the local flag (tests).
void clear_stop_request();

// Collective over `comm`: true on every rank when any rank's flag is set.
bool should_stop(Communicator& comm);

// For phases with nothing to save and no step boundary to wait for (tokenizer training, sample
// building, evaluation, ingest): while one is alive, a stop request ends the whole job within
// ~0.1 s with kExitRequeue (the requeued job redoes the phase), instead of being noticed only after
// the phase. A background thread polls the flag, so the phase's own code needs no hooks.
class StopExitsScope {
 public:
  explicit StopExitsScope(std::string phase);
  ~StopExitsScope();
  StopExitsScope(const StopExitsScope&) = delete;
  StopExitsScope& operator=(const StopExitsScope&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gensar::dist
