#include "data_pipeline/ingest_comm.h"

#include <mpi.h>

#include <cstdlib>
#include <mutex>

#include "core/common/check.h"
#include "core/common/log.h"

#ifdef GENSAR_DATA_HAVE_WATCHDOG
#include "distributed/watchdog.h"
// Every blocking collective of ingest is timed like distributed/'s: a rank that dies or stalls ends
// the job (exit 70) instead of leaving the others blocked forever.
#define GENSAR_INGEST_WATCHDOG(what) ::gensar::dist::WatchdogScope watchdog_(what, "ingest mpi world")
#else
#define GENSAR_INGEST_WATCHDOG(what) (void)0
#endif

namespace gensar::data {
namespace {

class SingleComm : public IngestComm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string broadcast(const std::string& bytes, int) override { return bytes; }
  bool all_ok(bool ok) override { return ok; }
};

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

// Same policy as distributed/: initialise once if nobody did, finalise at exit.
void ensure_mpi() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      GENSAR_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) == MPI_SUCCESS,
                   "MPI_Init_thread failed");
      std::atexit(finalize_mpi);
    }
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    log::set_rank(rank);
#ifdef GENSAR_DATA_HAVE_WATCHDOG
    dist::set_abort_function([](int code) { MPI_Abort(MPI_COMM_WORLD, code); });
#endif
  });
}

class MpiComm : public IngestComm {
 public:
  MpiComm() {
    ensure_mpi();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string broadcast(const std::string& bytes, int root) override {
    GENSAR_INGEST_WATCHDOG("broadcast");
    long long n = static_cast<long long>(bytes.size());
    MPI_Bcast(&n, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD);
    std::string out = rank_ == root ? bytes : std::string(static_cast<size_t>(n), '\0');
    // Chunks below INT_MAX bytes.
    const long long chunk = 1 << 30;
    for (long long off = 0; off < n; off += chunk) {
      int len = static_cast<int>(std::min(chunk, n - off));
      MPI_Bcast(out.data() + off, len, MPI_CHAR, root, MPI_COMM_WORLD);
    }
    return out;
  }
  bool all_ok(bool ok) override {
    GENSAR_INGEST_WATCHDOG("all_ok");
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == 1;
  }

 private:
  int rank_ = 0, size_ = 1;
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 1;
}

}  // namespace

std::unique_ptr<IngestComm> single_ingest_comm() { return std::make_unique<SingleComm>(); }
std::unique_ptr<IngestComm> mpi_ingest_comm() { return std::make_unique<MpiComm>(); }

std::unique_ptr<IngestComm> world_ingest_comm() {
  bool multi = env_int("OMPI_COMM_WORLD_SIZE") > 1 || env_int("PMI_SIZE") > 1 ||
               env_int("PMIX_SIZE") > 1 || env_int("SLURM_STEP_NUM_TASKS") > 1 ||
               env_int("GENSAR_FORCE_MPI") > 1;
  if (multi) return mpi_ingest_comm();
  return single_ingest_comm();
}

}  // namespace gensar::data
