// The distributed options every multi-rank verb shares, so they are spelled the same everywhere
// (each is a flag and a config key): --tp-size, --device, --bucket-cap-mb, --collective-timeout,
// --check-replicas-every, --keep-checkpoints.
#pragma once

#include <boost/program_options.hpp>

#include <string>

namespace gensar::launch {

struct DistributedOptions {
  int tp_size = 1;
  std::string device = "cpu";
  double bucket_cap_mb = 25.0;
  double collective_timeout_s = 1800.0;
  int check_replicas_every = 0;  // steps; 0 = never
  int keep_checkpoints = 3;
};

void add_distributed_options(boost::program_options::options_description& options);

// Reads the values back, validates them (InputError naming the flag), sets the collective timeout
// and installs the SIGTERM/SIGUSR1 stop handlers.
DistributedOptions apply_distributed_options(const boost::program_options::variables_map& vm);

}  // namespace gensar::launch
