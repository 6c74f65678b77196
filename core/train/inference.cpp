#include "core/train/inference.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/decoding/beam_search.h"
#include "core/decoding/prefix_trie.h"
#include "core/train/batch.h"
#include "core/train/identifier_softmax.h"

namespace gensar::train {

UserIndex::UserIndex(const data::Dataset& ds) {
  ds.for_each_user([&](int32_t user, std::string_view key, const std::vector<data::Event>&) {
    index_.emplace(std::string(key), user);
  });
}

int32_t UserIndex::find(const std::string& key) const {
  if (key.empty() || key == "-") return -1;
  auto it = index_.find(key);
  GENSAR_INPUT_CHECK(it != index_.end(),
                     "unknown user '{}': not in the dataset (use '-' for a user with no history)",
                     key);
  return it->second;
}

std::vector<int64_t> inference_input(const SampleBuilder& b, Task task, int32_t user,
                                     int64_t history_end, const std::string& query) {
  GENSAR_CHECK(task == Task::kRec || task == Task::kSearch, "inference for rec or search, got {}",
               task_name(task));
  const auto& opts = b.options();
  std::vector<int64_t> query_tokens;
  if (task == Task::kSearch) {
    query_tokens = b.tokenizer().encode(query);
    if (static_cast<int64_t>(query_tokens.size()) > opts.max_query_len)
      query_tokens.resize(opts.max_query_len);
  }
  const PromptTemplate& tmpl = opts.neutral_prompt ? b.prompts().neutral() : b.prompts().get(task, 0);
  const std::vector<int64_t>* q = task == Task::kSearch ? &query_tokens : nullptr;
  const std::vector<int64_t> empty;
  const int64_t fixed = static_cast<int64_t>(PromptSet::render(tmpl, {&empty, q, nullptr, nullptr}).size());
  const int64_t budget = std::max<int64_t>(0, opts.max_input_len - 1 - fixed);
  std::vector<int64_t> history;
  if (user >= 0 && history_end > 0) {
    history = b.build_history(user, static_cast<int32_t>(history_end));
    if (static_cast<int64_t>(history.size()) > budget) {
      // Drop the oldest entries (as training does): cut, then move to the next entry start.
      int64_t start = static_cast<int64_t>(history.size()) - budget;
      while (start < static_cast<int64_t>(history.size()) && history[start] != b.rec_item_token() &&
             history[start] != b.src_query_token())
        ++start;
      history.erase(history.begin(), history.begin() + start);
    }
  }
  std::vector<int64_t> input = PromptSet::render(tmpl, {&history, q, nullptr, nullptr});
  if (static_cast<int64_t>(input.size()) > opts.max_input_len - 1) input.resize(opts.max_input_len - 1);
  input.push_back(b.tokenizer().eos_id());
  return input;
}

std::vector<std::vector<ScoredItem>> infer_top_k(decoding::Seq2SeqScorer& scorer,
                                                 const SampleBuilder& b, Task task,
                                                 const UserIndex& users,
                                                 const std::vector<InferenceRequest>& requests,
                                                 int64_t k, int64_t beams, int64_t batch_size,
                                                 bool exclude_history) {
  GENSAR_INPUT_CHECK(k >= 1, "--k must be >= 1, got {}", k);
  GENSAR_INPUT_CHECK(batch_size >= 1, "--batch-size must be >= 1, got {}", batch_size);
  torch::NoGradGuard no_grad;
  const data::Dataset& ds = b.dataset();
  const bool semantic = task == Task::kSearch;
  const decoding::PrefixTrie trie = catalogue_trie(b, semantic);
  decoding::BeamSearchOptions bs;
  bs.num_beams = std::max(k, beams);
  bs.forced_prefix = {semantic ? b.src_item_token() : b.rec_item_token()};
  if (b.options().id_softmax == IdSoftmax::kCatalogue) bs.normaliser = &trie;

  std::vector<std::vector<ScoredItem>> out;
  for (size_t start = 0; start < requests.size(); start += batch_size) {
    const size_t end = std::min(requests.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> inputs;
    std::vector<std::unordered_set<int64_t>> clicked(end - start);
    for (size_t r = start; r < end; ++r) {
      const int32_t user = users.find(requests[r].user);
      int64_t n = 0;
      const data::Event* events = user >= 0 ? b.user_events(user, &n) : nullptr;
      inputs.push_back(inference_input(b, task, user, n, requests[r].query));
      if (exclude_history && task == Task::kRec)
        for (int64_t e = 0; e < n; ++e)
          if (events[e].kind == data::EventKind::kRec) clicked[r - start].insert(events[e].item);
    }
    torch::Tensor ids, mask;
    collate_inputs(inputs, b.tokenizer().pad_id(), &ids, &mask);
    const auto result = decoding::beam_search(scorer, ids, mask, {&trie}, bs);
    for (size_t c = 0; c < result.cases.size(); ++c) {
      const auto& cb = result.cases[c];
      const auto ranked = cb.ranked_items(bs.num_beams);
      const auto scores = cb.ranked_scores(bs.num_beams);
      std::vector<ScoredItem> list;
      for (size_t i = 0; i < ranked.size() && static_cast<int64_t>(list.size()) < k; ++i) {
        if (clicked[c].count(ranked[i])) continue;
        ScoredItem s;
        s.item = static_cast<int32_t>(ranked[i]);
        s.key = std::string(ds.item_key(s.item));
        s.title = std::string(ds.item_title(s.item));
        s.score = scores[i];
        list.push_back(std::move(s));
      }
      out.push_back(std::move(list));
    }
  }
  return out;
}

std::vector<InferenceRequest> read_inference_requests(const std::string& path, bool with_query) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "{}: cannot open the batch file", path);
  std::vector<InferenceRequest> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    InferenceRequest r;
    const size_t tab = line.find('\t');
    r.user = line.substr(0, tab);
    if (with_query) {
      GENSAR_INPUT_CHECK(tab != std::string::npos && tab + 1 < line.size(),
                         "{}:{}: expected 'user<TAB>query', the query field is missing", path, line_no);
      r.query = line.substr(tab + 1);
    }
    GENSAR_INPUT_CHECK(!r.user.empty(), "{}:{}: empty user field", path, line_no);
    out.push_back(std::move(r));
  }
  return out;
}

std::string inference_json(const InferenceRequest& request, const std::vector<ScoredItem>& items,
                           bool with_query) {
  nlohmann::ordered_json j;
  j["user"] = request.user;
  if (with_query) j["query"] = request.query;
  j["items"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    nlohmann::ordered_json e;
    e["rank"] = i + 1;
    e["item"] = items[i].key;
    e["title"] = items[i].title;
    e["score"] = items[i].score;
    j["items"].push_back(e);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string inference_table(const std::vector<ScoredItem>& items) {
  std::string out = fmt::format("{:>4} {:>10}  {:<14} {}\n", "rank", "score", "item", "title");
  for (size_t i = 0; i < items.size(); ++i)
    out += fmt::format("{:>4} {:>10.4f}  {:<14} {}\n", i + 1, items[i].score, items[i].key,
                       items[i].title);
  return out;
}

}  // namespace gensar::train
