// The communicator SASRec trains with: the world communicator of distributed/ (one rank without a
// launcher). Kept here so the rest of seqrec codes against the Communicator interface only.
#pragma once

#include <memory>

namespace gensar::dist {
class Communicator;
}

namespace gensar::seqrec {

std::shared_ptr<dist::Communicator> data_parallel_world();

}  // namespace gensar::seqrec
