// The few collectives ingest needs (rank, size, broadcast of bytes, agreement on success), as a
// view of the one communicator of the process (distributed/communicator.h: MPI under a launcher,
// else a single process). A failure on any rank must stop every rank (no rank may hang at a
// barrier), so phases end with all_ok() instead of a barrier.
#pragma once

#include <memory>
#include <string>

namespace gensar::dist {
class Communicator;
}

namespace gensar::data {

class IngestComm {
 public:
  explicit IngestComm(std::shared_ptr<dist::Communicator> comm);
  int rank() const;
  int size() const;
  std::string broadcast(const std::string& bytes, int root);
  // True iff every rank passed ok = true. Also a barrier.
  bool all_ok(bool ok);

 private:
  std::shared_ptr<dist::Communicator> comm_;
};

std::unique_ptr<IngestComm> single_ingest_comm();
// dist::world(): MPI when launched by mpirun/srun with more than one rank, else single-process.
std::unique_ptr<IngestComm> world_ingest_comm();

}  // namespace gensar::data
