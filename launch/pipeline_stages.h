// The pipeline's stages as data: which verb, which flags wire it to the other stages' files
// ({work} is the workdir), which stages it reads, and the file whose presence marks it done.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

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

// Prints GenSAR's metrics beside the baselines' from the workdir's metrics files.
void print_pipeline_report(const std::string& workdir, std::ostream& out);

}  // namespace gensar::launch
