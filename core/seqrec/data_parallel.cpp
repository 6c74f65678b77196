#include "core/seqrec/data_parallel.h"

#include "distributed/communicator.h"

namespace gensar::seqrec {

std::shared_ptr<dist::Communicator> data_parallel_world() { return dist::world(); }

}  // namespace gensar::seqrec
