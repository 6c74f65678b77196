// The communicator SASRec trains with: the world communicator of distributed/ when that library is
// built, otherwise none (single process). Kept here so the rest of seqrec codes against the
// Communicator interface only.
#pragma once

#include <memory>

namespace gensar::dist {
class Communicator;
}

namespace gensar::seqrec {

// nullptr when gensar is built without the distributed library.
std::shared_ptr<dist::Communicator> data_parallel_world();

}  // namespace gensar::seqrec
