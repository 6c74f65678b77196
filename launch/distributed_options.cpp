#include "launch/distributed_options.h"

#include "core/common/check.h"
#include "distributed/stop_signal.h"
#include "distributed/watchdog.h"
#include "launch/ranged_option.h"

namespace gensar::launch {
namespace po = boost::program_options;

void add_distributed_options(po::options_description& options) {
  DistributedOptions d;
  options.add_options()
      ("tp-size", ranged<int>(1)->default_value(d.tp_size),
       "tensor-parallel group size (consecutive ranks); world size must be divisible by it")
      ("device", po::value<std::string>()->default_value(d.device),
       "cpu, or cuda (one GPU per rank chosen by local rank; NCCL communicators)")
      ("bucket-cap-mb", ranged<double>(1e-6)->default_value(d.bucket_cap_mb),
       "gradient bucket size for the data-parallel all-reduce, in MB")
      ("collective-timeout", ranged<double>(0.0)->default_value(d.collective_timeout_s),
       "seconds a collective may block before the job aborts (exit 70); 0 disables")
      ("check-replicas-every", ranged<int>(0)->default_value(d.check_replicas_every),
       "every N steps verify that DP replicas hold identical parameters (0 = never)")
      ("keep-checkpoints", ranged<int>(1)->default_value(d.keep_checkpoints),
       "complete checkpoints to keep (the best one is kept in addition)");
}

DistributedOptions apply_distributed_options(const po::variables_map& vm) {
  DistributedOptions d;
  d.tp_size = vm["tp-size"].as<int>();
  d.device = vm["device"].as<std::string>();
  d.bucket_cap_mb = vm["bucket-cap-mb"].as<double>();
  d.collective_timeout_s = vm["collective-timeout"].as<double>();
  d.check_replicas_every = vm["check-replicas-every"].as<int>();
  d.keep_checkpoints = vm["keep-checkpoints"].as<int>();
  GENSAR_INPUT_CHECK(d.tp_size >= 1, "--tp-size must be at least 1, got {}", d.tp_size);
  GENSAR_INPUT_CHECK(d.device == "cpu" || d.device == "cuda", "--device must be cpu or cuda, got '{}'",
                     d.device);
  GENSAR_INPUT_CHECK(d.bucket_cap_mb > 0, "--bucket-cap-mb must be positive, got {}", d.bucket_cap_mb);
  GENSAR_INPUT_CHECK(d.check_replicas_every >= 0, "--check-replicas-every must be >= 0, got {}",
                     d.check_replicas_every);
  GENSAR_INPUT_CHECK(d.keep_checkpoints >= 1, "--keep-checkpoints must be at least 1, got {}",
                     d.keep_checkpoints);
  dist::set_collective_timeout(d.collective_timeout_s);
  dist::install_stop_signal_handlers();
  return d;
}

}  // namespace gensar::launch
