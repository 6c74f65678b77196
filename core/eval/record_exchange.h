// How the evaluator's per-case records travel to rank 0: as bytes, strings length-prefixed and
// numbers raw (exact doubles), so the gathered records equal the ones a single process keeps.
#pragma once

#include <cstdint>
#include <vector>

#include "core/eval/case_records.h"
#include "distributed/communicator.h"

namespace gensar::eval {

// An evaluated case with its global order (protocol index, task index, position in the selection).
struct OrderedRecord {
  int64_t order[3];
  CaseRecord record;
};

// Every rank's records, in rank order, on rank 0 (other ranks get an empty vector). Collective.
std::vector<OrderedRecord> gather_records(dist::Communicator& comm,
                                          const std::vector<OrderedRecord>& mine);

}  // namespace gensar::eval
