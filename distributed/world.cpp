// world(): which backend this process uses, decided once from the launcher's environment.
#include "core/common/log.h"
#include "distributed/communicator.h"
#include "distributed/mpi_communicator.h"

#include <cstdlib>
#include <mutex>

namespace gensar::dist {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

}  // namespace

bool launched_with_multiple_ranks() {
  if (env_int("GENSAR_FORCE_MPI", 0) != 0) return true;
  if (env_int("OMPI_COMM_WORLD_SIZE", 1) > 1) return true;
  if (env_int("PMI_SIZE", 1) > 1) return true;
  if (env_int("PMIX_SIZE", 1) > 1) return true;
  // SLURM_STEP_NUM_TASKS exists only inside an srun step (not in the batch script itself).
  if (env_int("SLURM_STEP_NUM_TASKS", 1) > 1) return true;
  // srun --mpi=pmix exports PMIX_RANK without a size variable: let MPI tell us.
  return std::getenv("PMIX_RANK") != nullptr && std::getenv("SLURM_STEP_ID") != nullptr;
}

int local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID",
                           "PMIX_LOCAL_RANK", "LOCAL_RANK"}) {
    int v = env_int(name, -1);
    if (v >= 0) return v;
  }
  return 0;
}

int local_size() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                           "SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE", "LOCAL_WORLD_SIZE"}) {
    // SLURM_STEP_TASKS_PER_NODE may read "2(x3)": atoi keeps the leading count, which is what we want.
    int v = env_int(name, -1);
    if (v > 0) return v;
  }
  return 1;
}

std::shared_ptr<Communicator> world() {
  static std::shared_ptr<Communicator> instance;
  static std::once_flag once;
  std::call_once(once, [] {
    if (launched_with_multiple_ranks()) {
      ensure_mpi_initialized();
      instance = std::make_shared<MpiCommunicator>(MPI_COMM_WORLD);
      GENSAR_INFO("dist", "world: MPI backend, {} ranks", instance->size());
    } else {
      instance = single_process_communicator();
    }
  });
  return instance;
}

}  // namespace gensar::dist
