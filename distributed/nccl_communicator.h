// The NCCL backend for GPU tensors. Its unique id travels over an MPI (bootstrap) communicator of
// the same ranks; collectives run on a dedicated CUDA stream ordered after the default stream by
// events. Uses the CUDA runtime directly (never c10's CUDA API) so it compiles and links against a
// CPU LibTorch; it runs only with a CUDA LibTorch (only that one can make CUDA tensors).
#pragma once

#include "distributed/communicator.h"

#include <memory>

namespace gensar::dist {

// True when this build has the NCCL backend (GENSAR_HAVE_NCCL).
bool nccl_available();

// Picks the GPU of this process: local_rank modulo the visible devices; makes it current.
int select_cuda_device(int local_rank);

// Collective over `bootstrap` (MPI or single): one NCCL communicator over the same ranks on `device`.
std::shared_ptr<Communicator> make_nccl_communicator(std::shared_ptr<Communicator> bootstrap,
                                                     int device);

}  // namespace gensar::dist
