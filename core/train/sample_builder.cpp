#include "core/train/sample_builder.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/common/check.h"
#include "core/common/strings.h"
#include "data_pipeline/query_words.h"
#include "data_pipeline/sample_order.h"

namespace gensar::train {

std::vector<std::string> vocabulary_special_tokens(const rqvae::ItemIdentifiers& ids) {
  std::vector<std::string> tokens = {kRecItemToken, kSrcQueryToken, kSrcItemToken};
  for (auto& t : ids.all_tokens()) tokens.push_back(t);
  return tokens;
}

std::vector<std::string> tokenizer_corpus(const data::Dataset& dataset) {
  std::vector<std::string> corpus;
  corpus.reserve(dataset.num_items() * 2 + dataset.num_queries());
  for (int32_t i = 0; i < dataset.num_items(); ++i) {
    if (!dataset.item_title(i).empty()) corpus.emplace_back(dataset.item_title(i));
    if (!dataset.item_description(i).empty()) corpus.emplace_back(dataset.item_description(i));
  }
  for (int32_t q = 0; q < dataset.num_queries(); ++q) corpus.emplace_back(dataset.query_text(q));
  return corpus;
}

namespace {

std::vector<int64_t> truncated(std::vector<int64_t> v, size_t max_len) {
  if (v.size() > max_len) v.resize(max_len);
  return v;
}

}  // namespace

SampleBuilder::SampleBuilder(std::shared_ptr<const data::Dataset> dataset,
                             std::shared_ptr<const rqvae::ItemIdentifiers> ids,
                             std::shared_ptr<const Tokenizer> tokenizer,
                             std::shared_ptr<const PromptSet> prompts, SampleBuilderOptions options)
    : dataset_(std::move(dataset)),
      ids_(std::move(ids)),
      tokenizer_(std::move(tokenizer)),
      prompts_(std::move(prompts)),
      options_(std::move(options)) {
  GENSAR_INPUT_CHECK(options_.history_rec >= 0 && options_.history_search >= 0,
                     "--history-rec/--history-search must be >= 0 (got {}, {})",
                     options_.history_rec, options_.history_search);
  GENSAR_INPUT_CHECK(options_.max_input_len >= 8, "--max-input-len must be >= 8 (got {})",
                     options_.max_input_len);
  GENSAR_INPUT_CHECK(options_.pseudo_query == "own-queries" ||
                         options_.pseudo_query == "category-words",
                     "--pseudo-query must be own-queries or category-words (got '{}')",
                     options_.pseudo_query);
  if (options_.neutral_prompt)
    GENSAR_INPUT_CHECK(prompts_->has_neutral(), "--neutral-prompt needs a [neutral] template");
  rec_item_ = tokenizer_->special_id(kRecItemToken);
  src_item_ = tokenizer_->special_id(kSrcItemToken);
  src_query_ = tokenizer_->special_id(kSrcQueryToken);

  const data::Dataset& ds = *dataset_;
  user_offsets_.assign(1, 0);
  user_offsets_.reserve(ds.num_users() + 1);
  ds.for_each_user([&](int32_t user, std::string_view, const std::vector<data::Event>& events) {
    GENSAR_CHECK(user == static_cast<int32_t>(user_offsets_.size()) - 1,
                 "users visited out of order: {} after {}", user, user_offsets_.size() - 1);
    events_.insert(events_.end(), events.begin(), events.end());
    user_offsets_.push_back(static_cast<int64_t>(events_.size()));
  });

  id_row_.resize(ds.num_items());
  sem_tokens_.resize(ds.num_items());
  col_tokens_.resize(ds.num_items());
  item_text_tokens_.resize(ds.num_items());
  category_tokens_.resize(ds.num_items());
  for (int32_t i = 0; i < ds.num_items(); ++i) {
    std::string key(ds.item_key(i));
    int64_t row = ids_->find_item(key);
    GENSAR_INPUT_CHECK(row >= 0, "identifiers have no item '{}' (dataset item {}): were they built "
                       "from this dataset?", key, i);
    id_row_[i] = row;
    for (const auto& t : ids_->sem_tokens(row)) sem_tokens_[i].push_back(tokenizer_->special_id(t));
    for (const auto& t : ids_->col_tokens(row)) col_tokens_[i].push_back(tokenizer_->special_id(t));
    item_text_tokens_[i] = truncated(tokenizer_->encode(item_text_for_model(ds, i)),
                                     options_.max_text_len);
    std::string cat = data::query_from_text(ds.item_categories(i));
    if (cat.empty()) cat = data::query_from_text(ds.item_title(i));
    category_tokens_[i] = truncated(tokenizer_->encode(cat), options_.max_query_len);
  }
  query_tokens_.resize(ds.num_queries());
  for (int32_t q = 0; q < ds.num_queries(); ++q)
    query_tokens_[q] = truncated(tokenizer_->encode(std::string(ds.query_text(q))),
                                 options_.max_query_len);
  separator_ = tokenizer_->encode(";");
}

SampleBuilder::~SampleBuilder() = default;

const data::Event* SampleBuilder::user_events(int32_t user, int64_t* count) const {
  GENSAR_CHECK(user >= 0 && user + 1 < static_cast<int64_t>(user_offsets_.size()),
               "user {} out of range ({} users)", user, user_offsets_.size() - 1);
  *count = user_offsets_[user + 1] - user_offsets_[user];
  return events_.data() + user_offsets_[user];
}

const PromptTemplate& SampleBuilder::prompt(Task task, int template_index) const {
  if (options_.neutral_prompt) return prompts_->neutral();
  return prompts_->get(task, template_index);
}

std::vector<int64_t> SampleBuilder::semantic_id(int32_t item) const { return sem_tokens_.at(item); }
std::vector<int64_t> SampleBuilder::collaborative_id(int32_t item) const {
  return col_tokens_.at(item);
}

std::vector<int64_t> SampleBuilder::rec_target(int32_t item) const {
  std::vector<int64_t> t = {rec_item_};
  t.insert(t.end(), col_tokens_.at(item).begin(), col_tokens_.at(item).end());
  t.push_back(tokenizer_->eos_id());
  return t;
}

std::vector<int64_t> SampleBuilder::search_target(int32_t item) const {
  std::vector<int64_t> t = {src_item_};
  t.insert(t.end(), sem_tokens_.at(item).begin(), sem_tokens_.at(item).end());
  t.push_back(tokenizer_->eos_id());
  return t;
}

// Joins the chosen entries (oldest first) by the separator, within `budget` tokens.
static std::vector<int64_t> join_entries(const std::vector<std::vector<int64_t>>& newest_first,
                                         const std::vector<int64_t>& separator, int64_t budget) {
  size_t take = 0;
  int64_t used = 0;
  for (; take < newest_first.size(); ++take) {
    int64_t add = static_cast<int64_t>(newest_first[take].size()) +
                  (take > 0 ? static_cast<int64_t>(separator.size()) : 0);
    if (used + add > budget) break;
    used += add;
  }
  std::vector<int64_t> out;
  for (size_t k = take; k-- > 0;) {
    out.insert(out.end(), newest_first[k].begin(), newest_first[k].end());
    if (k > 0) out.insert(out.end(), separator.begin(), separator.end());
  }
  return out;
}

static std::vector<std::vector<int64_t>> history_entries(
    const data::Event* events, int64_t end, int history_rec, int history_search,
    int64_t rec_item, int64_t src_query, int64_t src_item,
    const std::vector<std::vector<int64_t>>& col, const std::vector<std::vector<int64_t>>& sem,
    const std::vector<std::vector<int64_t>>& queries) {
  std::vector<std::vector<int64_t>> out;
  int recs = 0, searches = 0;
  for (int64_t e = end; e-- > 0;) {
    const data::Event& ev = events[e];
    std::vector<int64_t> entry;
    if (ev.kind == data::EventKind::kRec) {
      if (recs >= history_rec) continue;
      ++recs;
      entry.push_back(rec_item);
      entry.insert(entry.end(), col[ev.item].begin(), col[ev.item].end());
    } else {
      if (searches >= history_search) continue;
      ++searches;
      entry.push_back(src_query);
      if (ev.query >= 0) entry.insert(entry.end(), queries[ev.query].begin(), queries[ev.query].end());
      entry.push_back(src_item);
      entry.insert(entry.end(), sem[ev.item].begin(), sem[ev.item].end());
    }
    out.push_back(std::move(entry));
    if (recs >= history_rec && searches >= history_search) break;
  }
  return out;
}

std::vector<int64_t> SampleBuilder::build_history(int32_t user, int32_t end) const {
  int64_t n = 0;
  const data::Event* events = user_events(user, &n);
  GENSAR_CHECK(end >= 0 && end <= n, "history end {} outside user {}'s {} events", end, user, n);
  auto entries = history_entries(events, end, options_.history_rec, options_.history_search,
                                 rec_item_, src_query_, src_item_, col_tokens_, sem_tokens_,
                                 query_tokens_);
  return join_entries(entries, separator_, INT64_MAX);
}

std::vector<int64_t> SampleBuilder::build_input(Task task, int32_t user, int32_t event_index,
                                                int template_index, int history_keep) const {
  GENSAR_CHECK(task == Task::kRec || task == Task::kSearch || task == Task::kNextQuery,
               "build_input needs a history task, got {}", task_name(task));
  int64_t n = 0;
  const data::Event* events = user_events(user, &n);
  GENSAR_CHECK(event_index >= 0 && event_index < n, "event {} outside user {}'s {} events",
               event_index, user, n);
  std::vector<data::Event> copy(events, events + n);
  const int64_t end = data::history_end(copy, event_index);
  const data::Event& target = events[event_index];
  std::vector<int64_t> marked_query;
  const std::vector<int64_t>* query = nullptr;
  if (task == Task::kSearch) {
    GENSAR_CHECK(target.kind == data::EventKind::kSearch && target.query >= 0,
                 "search example (user {}, event {}) is not a search event", user, event_index);
    marked_query = query_with_marker(query_tokens_[target.query]);
    query = &marked_query;
  }
  const PromptTemplate& tmpl = prompt(task, template_index);
  const std::vector<int64_t> empty;
  const int64_t fixed =
      static_cast<int64_t>(PromptSet::render(tmpl, {&empty, query, nullptr, nullptr}).size());
  const int64_t budget = std::max<int64_t>(0, options_.max_input_len - 1 - fixed);
  auto entries = history_entries(events, end, options_.history_rec, options_.history_search,
                                 rec_item_, src_query_, src_item_, col_tokens_, sem_tokens_,
                                 query_tokens_);
  if (history_keep >= 0 && static_cast<int64_t>(entries.size()) > history_keep)
    entries.resize(history_keep);  // newest first: drops the oldest
  std::vector<int64_t> history = join_entries(entries, separator_, budget);
  std::vector<int64_t> input = PromptSet::render(tmpl, {&history, query, nullptr, nullptr});
  if (static_cast<int64_t>(input.size()) > options_.max_input_len - 1)
    input.resize(options_.max_input_len - 1);
  input.push_back(tokenizer_->eos_id());
  return input;
}

std::vector<int64_t> SampleBuilder::query_with_marker(const std::vector<int64_t>& query) const {
  std::vector<int64_t> out = {src_query_};
  out.insert(out.end(), query.begin(), query.end());
  return out;
}

std::string item_text_for_model(const data::Dataset& ds, int32_t item) {
  std::string text(ds.item_title(item));
  auto append = [&](std::string_view label, std::string_view value) {
    if (value.empty()) return;
    if (!text.empty()) text += ". ";
    text += label;
    text += value;
  };
  append("", ds.item_description(item));
  append("Categories: ", ds.item_categories(item));
  append("Brand: ", ds.item_brand(item));
  return text;
}

std::vector<int64_t> SampleBuilder::pseudo_query_tokens(const SampleRef& ref) const {
  if (ref.query >= 0) return query_tokens_.at(ref.query);
  return category_tokens_.at(ref.item);
}

Sample SampleBuilder::build(const SampleRef& ref) const {
  Sample s;
  s.task = ref.task;
  const int64_t eos = tokenizer_->eos_id();
  auto finish_input = [&](std::vector<int64_t> in) {
    if (static_cast<int64_t>(in.size()) > options_.max_input_len - 1)
      in.resize(options_.max_input_len - 1);
    in.push_back(eos);
    return in;
  };
  switch (ref.task) {
    case Task::kRec:
    case Task::kSearch:
    case Task::kNextQuery: {
      s.input = build_input(ref.task, ref.user, ref.event_index, ref.template_index, ref.history_keep);
      int64_t n = 0;
      const data::Event& ev = user_events(ref.user, &n)[ref.event_index];
      if (ref.task == Task::kRec) {
        s.target = rec_target(ev.item);
      } else if (ref.task == Task::kSearch) {
        s.target = search_target(ev.item);
      } else {
        s.target = {src_query_};
        if (ev.query >= 0)
          s.target.insert(s.target.end(), query_tokens_[ev.query].begin(),
                          query_tokens_[ev.query].end());
        s.target.push_back(eos);
      }
      break;
    }
    case Task::kQueryItem: {
      // Indexing is search without a history (the GenSAR paper, section 3; the reference renders it
      // with the search templates): the item must be found from the query alone.
      const std::vector<int64_t> q = query_with_marker(pseudo_query_tokens(ref));
      const std::vector<int64_t> no_history;
      const int templates = prompts_->count(Task::kSearch);
      s.input = finish_input(PromptSet::render(
          prompt(Task::kSearch, ref.template_index % std::max(1, templates)),
          {&no_history, &q, nullptr, nullptr}));
      s.target = search_target(ref.item);
      break;
    }
    case Task::kTextToId: {
      s.input = finish_input(PromptSet::render(prompt(ref.task, ref.template_index),
                                               {nullptr, nullptr, &item_text_tokens_[ref.item], nullptr}));
      s.target = ref.collaborative ? rec_target(ref.item) : search_target(ref.item);
      break;
    }
    case Task::kIdToText: {
      std::vector<int64_t> id = ref.collaborative ? rec_target(ref.item) : search_target(ref.item);
      id.pop_back();  // the identifier with its marker, no eos
      s.input = finish_input(
          PromptSet::render(prompt(ref.task, ref.template_index), {nullptr, nullptr, nullptr, &id}));
      s.target = item_text_tokens_[ref.item];
      s.target.push_back(eos);
      break;
    }
  }
  return s;
}

// ---- task mix ---------------------------------------------------------------------------------

int64_t& TaskMixOptions::count(Task task) {
  switch (task) {
    case Task::kRec: return rec;
    case Task::kSearch: return search;
    case Task::kNextQuery: return next_query;
    case Task::kQueryItem: return query_item;
    case Task::kTextToId: return text_to_id;
    default: return id_to_text;
  }
}
int64_t TaskMixOptions::count(Task task) const { return const_cast<TaskMixOptions*>(this)->count(task); }

void TaskMixOptions::enable_only(const std::string& task_list) {
  bool on[kNumTasks] = {};
  for (const auto& name : split_list(task_list)) {
    Task t;
    GENSAR_INPUT_CHECK(parse_task(name, &t), "--tasks: unknown task '{}' (rec, search, next_query, "
                       "query_item, text_to_id, id_to_text)", name);
    on[static_cast<int>(t)] = true;
  }
  for (int t = 0; t < kNumTasks; ++t)
    if (!on[t]) count(static_cast<Task>(t)) = 0;
}

void TaskMixOptions::set_counts(const std::string& spec) {
  for (const auto& item : split_list(spec)) {
    auto eq = item.find('=');
    GENSAR_INPUT_CHECK(eq != std::string::npos, "--samples-per-task: '{}' is not task=count", item);
    Task t;
    GENSAR_INPUT_CHECK(parse_task(item.substr(0, eq), &t), "--samples-per-task: unknown task '{}'",
                       item.substr(0, eq));
    try {
      count(t) = std::stoll(item.substr(eq + 1));
    } catch (const std::exception&) {
      GENSAR_INPUT_CHECK(false, "--samples-per-task: '{}' has no integer count", item);
    }
    GENSAR_INPUT_CHECK(count(t) >= -1, "--samples-per-task: count of {} must be >= -1", item);
  }
}

namespace {

// K indices drawn from [0, n) for one epoch, without repetition while K <= n (the first K of a
// keyed permutation; further rounds use further permutations). K = -1 means all, in order.
std::vector<int64_t> draw(int64_t k, int64_t n, uint64_t key, int64_t epoch) {
  std::vector<int64_t> out;
  if (n <= 0 || k == 0) return out;
  if (k < 0) {
    out.resize(n);
    for (int64_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }
  out.reserve(k);
  std::unique_ptr<data::EpochPermutation> perm;
  int64_t round = -1;
  for (int64_t i = 0; i < k; ++i) {
    if (i / n != round) {
      round = i / n;
      perm = std::make_unique<data::EpochPermutation>(n, key, epoch * 1000003 + round);
    }
    out.push_back((*perm)(i % n));
  }
  return out;
}

int64_t effective(int64_t k, int64_t n, bool all_by_default) {
  if (n <= 0) return 0;
  if (k < 0) return all_by_default ? n : 0;
  return k;
}

}  // namespace

static int64_t task_count(const SampleBuilder& b, const TaskMixOptions& mix, Task t) {
  const auto& ds = b.dataset();
  const int64_t rec_n = ds.examples(data::Task::kRec, data::Split::kTrain).size();
  const int64_t search_n = ds.examples(data::Task::kSearch, data::Split::kTrain).size();
  switch (t) {
    case Task::kRec: return effective(mix.rec, rec_n, true);
    // "100000 drawn, or all if fewer"
    case Task::kSearch: return mix.search < 0 ? search_n : std::min(mix.search, search_n);
    case Task::kNextQuery: return effective(mix.next_query, search_n, true);
    case Task::kQueryItem: return effective(mix.query_item, ds.num_items(), true);
    case Task::kTextToId: return effective(mix.text_to_id, ds.num_items(), true);
    default: return effective(mix.id_to_text, ds.num_items(), true);
  }
}

int64_t epoch_sample_count(const SampleBuilder& builder, const TaskMixOptions& mix) {
  int64_t total = 0;
  for (int t = 0; t < kNumTasks; ++t) total += task_count(builder, mix, static_cast<Task>(t));
  return total;
}

EpochSamples::EpochSamples(const SampleBuilder& b, const TaskMixOptions& mix, int64_t epoch)
    : epoch_(epoch) {
  const auto& ds = b.dataset();
  const auto& rec_ex = ds.examples(data::Task::kRec, data::Split::kTrain);
  const auto& search_ex = ds.examples(data::Task::kSearch, data::Split::kTrain);
  const bool neutral = b.options().neutral_prompt;
  const uint64_t seed = mix.seed;
  GENSAR_INPUT_CHECK(mix.rec_history_crop >= 0.0 && mix.rec_history_crop <= 1.0,
                     "--rec-history-crop {} is not a share in [0, 1]", mix.rec_history_crop);
  const int max_entries = b.options().history_rec + b.options().history_search;
  // Crop decisions compare 16 random bits with the share, quantised to 1/65536 (1.0 = always).
  const uint64_t crop_below = static_cast<uint64_t>(std::lround(mix.rec_history_crop * 65536.0));

  // Queries each item was clicked for in the training split (the own-queries pseudo-queries).
  std::vector<std::vector<int32_t>> item_queries;
  if (task_count(b, mix, Task::kQueryItem) > 0 && b.options().pseudo_query == "own-queries") {
    item_queries.resize(ds.num_items());
    for (const auto& ex : search_ex) {
      int64_t n = 0;
      const data::Event& ev = b.user_events(ex.user, &n)[ex.event_index];
      if (ev.query >= 0) item_queries[ev.item].push_back(ev.query);
    }
  }

  for (int ti = 0; ti < kNumTasks; ++ti) {
    const Task task = static_cast<Task>(ti);
    const int64_t k = task_count(b, mix, task);
    if (k == 0) continue;
    const uint64_t key = data::mix_seed(seed, 0x5A3F1E00u + ti);
    const int templates = neutral ? 1 : b.prompts().count(task);
    int64_t n = 0;
    switch (task) {
      case Task::kRec: n = static_cast<int64_t>(rec_ex.size()); break;
      case Task::kSearch:
      case Task::kNextQuery: n = static_cast<int64_t>(search_ex.size()); break;
      default: n = ds.num_items();
    }
    std::vector<int64_t> picks = draw(task == Task::kRec && mix.rec < 0 ? -1 : k, n, key, epoch);
    for (int64_t i = 0; i < static_cast<int64_t>(picks.size()); ++i) {
      const uint64_t r = data::mix_seed(key, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
      SampleRef ref;
      ref.task = task;
      ref.template_index = static_cast<int>(r % static_cast<uint64_t>(templates));
      if (task == Task::kRec) {
        ref.user = rec_ex[picks[i]].user;
        ref.event_index = rec_ex[picks[i]].event_index;
        if (crop_below > 0 && max_entries >= 2) {
          const uint64_t c = data::mix_seed(r, 0xC409u);  // independent of the template draw
          if ((c & 0xFFFFu) < crop_below)
            ref.history_keep = 1 + static_cast<int>((c >> 16) % static_cast<uint64_t>(max_entries - 1));
        }
      } else if (task == Task::kSearch || task == Task::kNextQuery) {
        ref.user = search_ex[picks[i]].user;
        ref.event_index = search_ex[picks[i]].event_index;
      } else {
        ref.item = static_cast<int32_t>(picks[i]);
        ref.collaborative = (i % 2) == 1;
        if (task == Task::kQueryItem && !item_queries.empty()) {
          const auto& qs = item_queries[ref.item];
          if (!qs.empty()) ref.query = qs[(r >> 20) % qs.size()];
        }
      }
      refs_.push_back(ref);
    }
  }
}

}  // namespace gensar::train
