// One factory per verb; each lives in launch/verbs/<verb>.cpp. Add a verb: declare it here and
// list it in launch/verb_table.cpp.
#pragma once

#include "launch/config.h"

namespace gensar::launch {

Verb verb_info();
Verb verb_embed_collab();
Verb verb_embed_text();
Verb verb_index();
Verb verb_ingest();
Verb verb_stats();
Verb verb_compare();
Verb verb_eval();
Verb verb_recommend();
Verb verb_search();
Verb verb_train();
Verb verb_convert_checkpoint();
Verb verb_pipeline();
Verb verb_sweep();
Verb verb_report();

}  // namespace gensar::launch
