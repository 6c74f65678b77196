// Sharded checkpoint I/O: one directory per step, atomic as a whole.
//
//   <root>/step-N.tmp/   every rank writes its own files here (named by TP and DP rank)
//   barrier; rank 0 renames step-N.tmp -> step-N, then rewrites <root>/latest (temp file + rename)
//   <root>/latest        text "step-N": the newest complete checkpoint
//   <root>/best          text "step-N" and best.json {"step","path","metric"}: never pruned
// A crash before the rename leaves step-N.tmp behind and `latest` untouched: readers ignore *.tmp
// and the next writer deletes them. Only the last `keep_last` complete steps (plus best) are kept.
//   <root>/step-N/checksums.json   XXH64 of every other file of the step, written by rank 0 at
// commit: opening a checkpoint verifies it (verify_checkpoint), and resume skips a corrupt or
// truncated step for the newest intact one.
// Directory operations are done by rank 0: the root must be on a filesystem every rank sees.
#pragma once

#include "core/common/atomic_file.h"
#include "distributed/communicator.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace torch::serialize {
class OutputArchive;
}

namespace gensar::dist {

using TensorMap = std::map<std::string, torch::Tensor>;

// Every checkpoint directory's file list with XXH64 sums (verify_checkpoint reads it).
inline constexpr const char* kChecksumsFile = "checksums.json";

// "model-tp01-dp000.pt": the shard of `kind` written by (tp_rank, dp_rank).
std::string shard_file_name(const std::string& kind, int tp_rank, int dp_rank,
                            const std::string& extension = "pt");

// Named tensors through torch's serialisation archive (a zip readable by torch.load's jit loader).
// Saving goes through write_file_atomically (every write checked); loading names the file when it
// is truncated or not an archive.
void save_tensors(const std::string& path, const TensorMap& tensors);
TensorMap load_tensors(const std::string& path);
// Any torch archive (e.g. an optimiser's state), written like save_tensors.
void save_archive(const std::string& path, torch::serialize::OutputArchive& archive);

// The atomic whole-file writer (core/common/atomic_file.h), under the names checkpoint code uses.
using gensar::ByteSink;
using gensar::write_file_atomically;
void write_json_file(const std::string& path, const nlohmann::json& value);
nlohmann::json read_json_file(const std::string& path);

struct CheckpointRef {
  int64_t step = 0;
  std::string path;
};

// Writes `dir`/checksums.json: the checksum of every other file of the checkpoint directory (the
// writer's commit does it; tools that assemble a checkpoint themselves call it last).
void write_checkpoint_checksums(const std::string& dir);

// Throws InputError naming the first file of `dir` that is missing or whose checksum differs from
// checksums.json (a checkpoint written before checksums existed is accepted as it is).
void verify_checkpoint(const std::string& dir);

// The newest complete and intact checkpoint under `root`: the one `latest` names, or (when the
// marker is missing, stale or names a corrupt step) the highest complete step-N directory that
// verifies; a skipped step is logged with the reason. Never a .tmp directory. Throws InputError when
// checkpoints exist but none verifies (starting fresh over them would discard a run silently).
std::optional<CheckpointRef> find_latest_checkpoint(const std::string& root);
std::optional<CheckpointRef> find_best_checkpoint(const std::string& root);
// Complete checkpoints, oldest first.
std::vector<CheckpointRef> list_checkpoints(const std::string& root);

class CheckpointWriter {
 public:
  // `comm`: every rank that writes files (normally the world). keep_last >= 1.
  CheckpointWriter(std::string root, std::shared_ptr<Communicator> comm, int keep_last = 3);

  // Collective. Rank 0 deletes leftover *.tmp directories and creates step-N.tmp; returns its path.
  std::string begin(int64_t step);
  // Paths inside the staging directory (valid between begin and commit).
  std::string path(const std::string& file_name) const;
  void save_tensors(const std::string& file_name, const TensorMap& tensors) const;
  void save_json(const std::string& file_name, const nlohmann::json& value) const;

  // Collective. Barrier (every rank's files are written), rank 0 publishes step-N, updates
  // `latest`, updates `best` when `metric` beats the recorded one, prunes; barrier again.
  // Returns the final directory.
  std::string commit(std::optional<double> metric = std::nullopt, bool higher_is_better = true);

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::shared_ptr<Communicator> comm_;
  int keep_last_;
  int64_t step_ = -1;
  std::string staging_;
};

}  // namespace gensar::dist
