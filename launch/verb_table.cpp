#include "launch/verbs.h"

namespace gensar::launch {

const std::vector<Verb>& all_verbs() {
  static const std::vector<Verb> verbs = {
      verb_info(),
      verb_index(),
      verb_ingest(),
      verb_embed_text(),
      verb_stats(),
      verb_embed_collab(),
      verb_compare(),
      verb_eval(),
      verb_recommend(),
      verb_search(),
      verb_train(),
      verb_convert_checkpoint(),
      verb_pipeline(),
      verb_sweep(),
      verb_report(),
  };
  return verbs;
}

}  // namespace gensar::launch
