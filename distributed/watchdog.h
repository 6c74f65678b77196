// Collective timeouts: every blocking collective holds a WatchdogScope while it waits. A background
// thread aborts the whole job (MPI_Abort, else _exit) when one is older than the timeout, after
// logging which collective on which communicator and rank, so a dead or stalled peer never leaves the
// surviving ranks hanging forever.
#pragma once

#include <cstdint>
#include <string>

namespace gensar::dist {

// Exit status of a rank that aborts because a collective timed out.
constexpr int kExitCollectiveTimeout = 70;

// Seconds; <= 0 disables. Default: $GENSAR_COLLECTIVE_TIMEOUT or 1800. Verbs expose it as
// `--collective-timeout` and call this once at start-up.
void set_collective_timeout(double seconds);
double collective_timeout();

class WatchdogScope {
 public:
  // `what` names the collective, `where` the communicator (e.g. "mpi world 4 ranks").
  WatchdogScope(const char* what, const std::string& where);
  ~WatchdogScope();
  WatchdogScope(const WatchdogScope&) = delete;
  WatchdogScope& operator=(const WatchdogScope&) = delete;

 private:
  std::uint64_t id_ = 0;
};

// Marks, on the calling thread, a wait for a peer's long single-rank phase (rank 0 training the
// tokenizer or reading the raw log while the others wait in a broadcast): collectives entered while
// one is alive are exempt from the timeout, since their length is the phase's work, not a stall. A
// peer that dies meanwhile is still caught by the launcher (mpirun/srun end the job); a peer that
// hangs inside the phase is not (docs/reliability.md).
class LongPhaseWait {
 public:
  explicit LongPhaseWait(const char* phase);
  ~LongPhaseWait();
  LongPhaseWait(const LongPhaseWait&) = delete;
  LongPhaseWait& operator=(const LongPhaseWait&) = delete;

 private:
  const char* previous_;
};

// Ends the whole job now with `exit_code`: MPI_Abort once MPI is up (every rank ends, and mpirun
// exits with that code), else _exit. Flushes stdout/stderr first.
[[noreturn]] void abort_job(int exit_code);

// How the watchdog ends the job (the MPI backend installs MPI_Abort once MPI is up).
using AbortFunction = void (*)(int exit_code);
void set_abort_function(AbortFunction fn);

}  // namespace gensar::dist
