// gensar recommend --run RUN --user U [--k 10]: the user's next items from a trained run
// (full-catalogue constrained beam search over collaborative IDs).
#include "launch/verbs.h"
#include "launch/verbs/inference_verb.h"

namespace gensar::launch {

Verb verb_recommend() {
  return Verb{"recommend", "top-k recommended items for a user (or a TSV batch of users)",
              [](po::options_description& d) { add_inference_options(d, false); },
              {},
              [](const po::variables_map& vm) { return run_inference(vm, train::Task::kRec); }};
}

}  // namespace gensar::launch
