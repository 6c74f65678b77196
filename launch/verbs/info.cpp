// gensar info: what this build links against and how many threads/ranks it sees.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "launch/verbs.h"

namespace gensar::launch {

namespace {

std::string blas_library() {
  // Debian switches libblas.so.3 by alternative; what the process mapped is the truth.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libblas.so") != std::string::npos || line.find("libopenblas") != std::string::npos)
      return line.substr(line.find('/'));
  }
  return "unknown";
}

}  // namespace

int run_info(const po::variables_map&) {
  std::printf("torch version     %s\n", TORCH_VERSION);
  std::printf("intra-op threads  %d\n", at::get_num_threads());
  std::printf("blas              %s\n", blas_library().c_str());
  std::printf("cuda available    %s\n", torch::cuda::is_available() ? "yes" : "no");
#ifdef GENSAR_HAVE_NCCL
  std::printf("nccl backend      compiled\n");
#else
  std::printf("nccl backend      not compiled\n");
#endif
  return 0;
}

}  // namespace gensar::launch
