// The few collectives ingest needs (rank, size, broadcast of bytes, agreement on success), without
// torch: a single-process version and an MPI one on MPI_COMM_WORLD. A failure on any rank must stop
// every rank (no rank may hang at a barrier), so phases end with all_ok() instead of a barrier.
#pragma once

#include <memory>
#include <string>

namespace gensar::data {

class IngestComm {
 public:
  virtual ~IngestComm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string broadcast(const std::string& bytes, int root) = 0;
  // True iff every rank passed ok = true. Also a barrier.
  virtual bool all_ok(bool ok) = 0;
};

std::unique_ptr<IngestComm> single_ingest_comm();
// MPI_COMM_WORLD (initialises MPI if nobody has; finalised at exit).
std::unique_ptr<IngestComm> mpi_ingest_comm();
// MPI when launched by mpirun/srun with more than one rank, else single-process.
std::unique_ptr<IngestComm> world_ingest_comm();

}  // namespace gensar::data
