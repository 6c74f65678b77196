// GenSAR's multi-task samples (the GenSAR paper, sections 2 and 3): token-id inputs and targets
// for the six tasks, and the per-epoch sample list whose content is a pure function of
// (seed, epoch), so that "global sample index -> sample" needs no state and resume is exact
// (docs/training.md).
//
// The current query of a search example, and the pseudo-query of query_item, are rendered as
// `<src_query>` + query, as history sessions are; query_item uses the search templates with an
// empty history (indexing is search without a history).
//
// History of an example (user u, target event t): the last `history_rec` rec clicks, each
// `<rec_item>` + collaborative ID, and the last `history_search` search sessions, each `<src_query>`
// + query text + `<src_item>` + semantic ID, taken from events [0, data::history_end(events, t)),
// i.e. strictly before the target, and for a search target without the rec click of the same
// review; merged in time order and joined by "; ". When the rendered input is longer than
// `max_input_len`, the oldest history entries are dropped first.
//
// Inputs end with eos (T5 convention); targets end with eos.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rqvae/identifiers.h"
#include "core/train/prompts.h"
#include "core/train/tokenizer.h"
#include "data_pipeline/dataset.h"

namespace gensar::train {

// The special tokens of the model vocabulary, in their fixed order: the three task markers, then
// every code token of the identifiers (ItemIdentifiers::all_tokens() order).
inline constexpr const char* kRecItemToken = "<rec_item>";
inline constexpr const char* kSrcQueryToken = "<src_query>";
inline constexpr const char* kSrcItemToken = "<src_item>";
std::vector<std::string> vocabulary_special_tokens(const rqvae::ItemIdentifiers& ids);

// An item's text for the text <-> identifier tasks: title, description, then "Categories: ..."
// and "Brand: ..." when present (the GenSAR paper, section 3; truncated to max_text_len tokens).
std::string item_text_for_model(const data::Dataset& dataset, int32_t item);

// Corpus for training the tokenizer: every item's title + description and every query text.
std::vector<std::string> tokenizer_corpus(const data::Dataset& dataset);

// How identifier tokens are normalised in training and scoring (core/train/identifier_softmax.h).
enum class IdSoftmax { kVocabulary, kCatalogue };
// "vocabulary" | "catalogue" -> value; throws InputError otherwise.
IdSoftmax parse_id_softmax(const std::string& text);

struct SampleBuilderOptions {
  int history_rec = 5;        // N: last rec clicks in the history
  int history_search = 5;     // M: last search sessions in the history
  int max_input_len = 256;    // tokens, eos included
  int max_text_len = 256;     // tokens of an item's text (text_to_id / id_to_text)
  int max_query_len = 32;     // tokens of one query text
  bool neutral_prompt = false;  // every task uses the single [neutral] template (ablation)
  // Pseudo-query of an item for query_item: "own-queries" (a query the item was clicked for in the
  // training split; falls back to category words when it has none) or "category-words" (Ai et al.:
  // the item's category path words).
  std::string pseudo_query = "own-queries";
  IdSoftmax id_softmax = IdSoftmax::kVocabulary;  // --id-softmax
};

// One training sample: which task, and the (user, event) or item it is built from.
struct SampleRef {
  Task task = Task::kRec;
  int32_t user = -1;         // rec / search / next_query: the example
  int32_t event_index = -1;
  int32_t item = -1;         // query_item / text_to_id / id_to_text: dataset item index
  int32_t query = -1;        // query_item: the pseudo-query (dataset query index; -1 = category words)
  bool collaborative = false;  // text_to_id / id_to_text: collaborative (true) or semantic ID
  int template_index = 0;
  // rec / search / next_query: the most recent history entries kept (-1 = all the options allow);
  // set by the rec history crop (TaskMixOptions::rec_history_crop), never at evaluation.
  int history_keep = -1;
};

struct Sample {
  Task task = Task::kRec;
  std::vector<int64_t> input;   // ends with eos
  std::vector<int64_t> target;  // ends with eos
};

class SampleBuilder {
 public:
  // Loads every user's events into memory (compact) and tokenises every query and item text once.
  // Every dataset item must have identifiers (matched by item key). `prompts` must be compiled with
  // `tokenizer`, and `tokenizer` must contain vocabulary_special_tokens(ids).
  SampleBuilder(std::shared_ptr<const data::Dataset> dataset,
                std::shared_ptr<const rqvae::ItemIdentifiers> ids,
                std::shared_ptr<const Tokenizer> tokenizer, std::shared_ptr<const PromptSet> prompts,
                SampleBuilderOptions options);
  ~SampleBuilder();

  // Input of a rec / search / next_query example (the target event `event_index` of `user`) with
  // prompt template `template_index` (0 at evaluation). Task must be kRec, kSearch or kNextQuery.
  // `history_keep` >= 0 keeps only that many of the most recent history entries.
  std::vector<int64_t> build_input(Task task, int32_t user, int32_t event_index,
                                   int template_index = 0, int history_keep = -1) const;
  // The history part alone (no prompt, no eos): for tests and inspection.
  std::vector<int64_t> build_history(int32_t user, int32_t history_end_index) const;

  // Target sequences of an item: `<rec_item>` + collaborative ID + eos (rec), `<src_item>` +
  // semantic ID + eos (search). Items are dataset item indices.
  std::vector<int64_t> rec_target(int32_t item) const;
  std::vector<int64_t> search_target(int32_t item) const;
  // Identifier tokens alone (no marker, no eos), as ids in the model vocabulary.
  std::vector<int64_t> semantic_id(int32_t item) const;
  std::vector<int64_t> collaborative_id(int32_t item) const;
  int64_t rec_item_token() const { return rec_item_; }
  int64_t src_item_token() const { return src_item_; }
  int64_t src_query_token() const { return src_query_; }

  // Any sample (every task), input and target.
  Sample build(const SampleRef& ref) const;

  const data::Dataset& dataset() const { return *dataset_; }
  const rqvae::ItemIdentifiers& identifiers() const { return *ids_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const PromptSet& prompts() const { return *prompts_; }
  const SampleBuilderOptions& options() const { return options_; }
  // Events of a user (time-ordered, as Dataset::events).
  const data::Event* user_events(int32_t user, int64_t* count) const;
  // Identifier row of a dataset item.
  int64_t id_row(int32_t item) const { return id_row_[item]; }

 private:
  const PromptTemplate& prompt(Task task, int template_index) const;
  std::vector<int64_t> item_text(int32_t item) const;
  std::vector<int64_t> pseudo_query_tokens(const SampleRef& ref) const;
  // `<src_query>` + the query: the current query is marked as history queries are.
  std::vector<int64_t> query_with_marker(const std::vector<int64_t>& query) const;

  std::shared_ptr<const data::Dataset> dataset_;
  std::shared_ptr<const rqvae::ItemIdentifiers> ids_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const PromptSet> prompts_;
  SampleBuilderOptions options_;
  std::vector<int64_t> user_offsets_;  // size users + 1 into events_
  std::vector<data::Event> events_;
  std::vector<int64_t> id_row_;        // dataset item -> identifiers row
  std::vector<std::vector<int64_t>> query_tokens_, item_text_tokens_, category_tokens_;
  std::vector<std::vector<int64_t>> sem_tokens_, col_tokens_;  // per dataset item
  std::vector<int64_t> separator_;     // "; "
  int64_t rec_item_ = -1, src_item_ = -1, src_query_ = -1;
};

// Per-task sample counts for one epoch, and which tasks are on.
struct TaskMixOptions {
  // -1 = all training examples (rec), or the documented default. 0 switches a task off.
  int64_t rec = -1;
  int64_t search = 100000;     // drawn per epoch; all when fewer exist
  int64_t next_query = 1000;
  int64_t query_item = 1000;
  int64_t text_to_id = 2000;   // half semantic, half collaborative
  int64_t id_to_text = 2000;   // half semantic, half collaborative
  uint64_t seed = 2024;
  // Rec history crop (--rec-history-crop): the share of rec training examples that keep only their
  // last k history entries, k drawn uniformly from 1 .. history_rec + history_search - 1, anew each
  // epoch (a pure function of (seed, epoch, example)). A model that can read a whole history
  // memorises each user's sequence; the crop makes it also predict from the last few clicks, the
  // signal that generalises on logs like Scientific's (docs/training.md, "Rec history crop").
  double rec_history_crop = 0.0;
  // Parses "rec,search,..." (tasks to keep on) and "task=count,..." overrides; throws InputError.
  void enable_only(const std::string& task_list);
  void set_counts(const std::string& spec);
  int64_t& count(Task task);
  int64_t count(Task task) const;
};

// The samples of one epoch: a pure function of (options, dataset splits, epoch). Its size is the
// same for every epoch (so SampleOrder's position -> (epoch, offset) mapping is fixed).
class EpochSamples {
 public:
  EpochSamples(const SampleBuilder& builder, const TaskMixOptions& mix, int64_t epoch);
  int64_t size() const { return static_cast<int64_t>(refs_.size()); }
  const SampleRef& operator[](int64_t i) const { return refs_[i]; }
  int64_t epoch() const { return epoch_; }

 private:
  std::vector<SampleRef> refs_;
  int64_t epoch_;
};

// Samples per epoch for these options (without building the list).
int64_t epoch_sample_count(const SampleBuilder& builder, const TaskMixOptions& mix);

}  // namespace gensar::train
