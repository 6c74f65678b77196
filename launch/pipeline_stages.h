// The pipeline's stages as data: which verb, which flags wire it to the other stages' files
// ({work} is the workdir), which stages it reads, and the file whose presence marks it done.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "launch/config.h"

namespace gensar::launch {

struct PipelineStage {
  std::string name;
  std::string verb;
  std::map<std::string, std::string> overrides;
  std::vector<std::string> inputs;
  std::string output;
};

const std::vector<PipelineStage>& pipeline_stages();
std::string default_pipeline_stages();

// Substitutes `work` for every {work} (work may itself be the literal "{work}").
std::string expand_work(std::string value, const std::string& work);

// The stage's options: the config file plus the flags that wire it to the workdir's files.
po::variables_map resolve_stage(const PipelineStage& stage, const std::string& config_path,
                                const std::string& work);

// The stamp a stage leaves: hash of its resolved config and its inputs' stamps (an input missing
// from `upstream` hashes as ""). pipeline and sweep share it, so their stamps always agree.
std::string stage_stamp(const PipelineStage& stage, const std::string& config_path,
                        const std::string& work, const std::map<std::string, std::string>& upstream);

// Runs one stage's verb over `work` (whose .stamps/ directory exists) and, on success, leaves its
// stamp. A stage that was started with this very stamp and did not finish (stopped, preempted,
// killed) resumes from its own checkpoint when its verb has --resume; a changed config starts it
// afresh. `.stamps/STAGE.pending` marks what is in progress. Every rank of `world` calls it.
// Returns the verb's exit status.
int run_stage(const PipelineStage& stage, const std::string& config_path, const std::string& work,
              const std::string& stamp, bool force, dist::Communicator& world);

// Prints GenSAR's metrics beside the baselines' from the workdir's metrics files.
void print_pipeline_report(const std::string& workdir, std::ostream& out);

}  // namespace gensar::launch
