// gensar stats DIR [--json]: counts, split sizes and sequence-length percentiles of a dataset.
#include <cstdio>

#include "data_pipeline/dataset.h"
#include "data_pipeline/stats.h"
#include "launch/verbs.h"

namespace gensar::launch {

int run_stats(const po::variables_map& vm) {
  data::Dataset dataset(vm["dataset"].as<std::string>());
  if (vm["verify"].as<bool>()) dataset.verify();
  auto stats = data::dataset_stats(dataset);
  if (vm["json"].as<bool>()) {
    std::printf("%s\n", stats.dump(2).c_str());
  } else {
    std::printf("%s", data::format_stats(stats).c_str());
  }
  return 0;
}

void add_stats_options(po::options_description& d) {
  d.add_options()("dataset", po::value<std::string>()->required(),
                  "dataset directory (also positional)")
      ("json", po::bool_switch(), "print JSON")
      ("verify", po::bool_switch(), "first recompute every file checksum of the manifest");
}

}  // namespace gensar::launch
