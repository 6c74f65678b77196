// Inference for `gensar recommend` and `gensar search`: the top-k items for a user (and a query)
// by constrained beam search over the whole catalogue, the input built as at training (template 0,
// the user's whole history, most recent entries kept within max_input_len).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/decoding/seq2seq.h"
#include "core/train/sample_builder.h"

namespace gensar::train {

struct InferenceRequest {
  std::string user;   // user key; "" or "-" = an anonymous user with no history
  std::string query;  // search only
};

struct ScoredItem {
  int32_t item = -1;   // dataset item index
  std::string key;
  std::string title;
  double score = 0;    // sequence log-prob of the item's identifier
};

// User key -> dense user index for a dataset (reads every shard once).
class UserIndex {
 public:
  explicit UserIndex(const data::Dataset& dataset);
  // Dense index, -1 for the anonymous user ("" or "-"); throws InputError naming the key when
  // the dataset has no such user.
  int32_t find(const std::string& key) const;

 private:
  std::unordered_map<std::string, int32_t> index_;
};

// Model input: the prompt of `task` (kRec or kSearch) with the history of `user`'s events
// [0, history_end) (user < 0: empty history) and, for search, `query`; ends with eos.
std::vector<int64_t> inference_input(const SampleBuilder& builder, Task task, int32_t user,
                                     int64_t history_end, const std::string& query);

// Top-k items per request (all requests of one task). beams = max(k, beams); requests are decoded
// batch_size at a time. With exclude_history, recommendations leave out the items the user has
// already clicked (rec events), as `gensar eval --exclude-history` does: they come from the same
// beams, so a list can be shorter than k when beams - k is below the number of such items.
std::vector<std::vector<ScoredItem>> infer_top_k(decoding::Seq2SeqScorer& scorer,
                                                 const SampleBuilder& builder, Task task,
                                                 const UserIndex& users,
                                                 const std::vector<InferenceRequest>& requests,
                                                 int64_t k, int64_t beams, int64_t batch_size,
                                                 bool exclude_history = false);

// TSV requests: "user" (rec) or "user<TAB>query" (search) per line; blank lines and lines starting
// with '#' are skipped. Errors name the file and line.
std::vector<InferenceRequest> read_inference_requests(const std::string& path, bool with_query);

// One JSONL line: {"user":..,"query":..,"items":[{"rank":1,"item":"KEY","title":..,"score":..}]}
// ("query" only for search).
std::string inference_json(const InferenceRequest& request, const std::vector<ScoredItem>& items,
                           bool with_query);
// Human-readable: rank, score, key, title per line.
std::string inference_table(const std::vector<ScoredItem>& items);

}  // namespace gensar::train
