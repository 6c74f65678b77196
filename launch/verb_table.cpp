#include "launch/verbs.h"

namespace gensar::launch {

const std::vector<Verb>& all_verbs() {
  static const std::vector<Verb> verbs = {
      verb_info(),
  };
  return verbs;
}

}  // namespace gensar::launch
