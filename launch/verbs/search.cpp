// gensar search --run RUN --user U --query "..." [--k 10]: personalised search results from a
// trained run (full-catalogue constrained beam search over semantic IDs).
#include "launch/verbs.h"
#include "launch/verbs/inference_verb.h"

namespace gensar::launch {

Verb verb_search() {
  return Verb{"search", "top-k items for a user's query (or a TSV batch of user<TAB>query)",
              [](po::options_description& d) { add_inference_options(d, true); },
              {},
              [](const po::variables_map& vm) { return run_inference(vm, train::Task::kSearch); }};
}

}  // namespace gensar::launch
