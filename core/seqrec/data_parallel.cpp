#include "core/seqrec/data_parallel.h"

#include "distributed/communicator.h"

namespace gensar::seqrec {

std::shared_ptr<dist::Communicator> data_parallel_world() {
#ifdef GENSAR_SEQREC_WITH_DIST
  return dist::world();
#else
  return nullptr;
#endif
}

}  // namespace gensar::seqrec
