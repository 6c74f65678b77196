#include "data_pipeline/candidates.h"

#include <algorithm>
#include <memory>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/common/atomic_file.h"
#include "core/common/check.h"
#include "core/common/h5.h"
#include "core/common/log.h"
#include "core/common/seed.h"
#include "data_pipeline/bm25.h"
#include "data_pipeline/checksum.h"

namespace gensar::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFileName = "candidates.h5";
constexpr Split kEvalSplits[2] = {Split::kValid, Split::kTest};
constexpr Task kTasks[2] = {Task::kRec, Task::kSearch};

// Portable per-example randomness (std distributions differ across standard libraries).
using Rng = seed::SplitMix64;
Rng example_rng(uint64_t run_seed, Task task, Split split, const Example& ex) {
  return Rng(seed::derive(run_seed, seed::Purpose::kEvalCandidates,
                          {static_cast<uint64_t>(task), static_cast<uint64_t>(split),
                           static_cast<uint64_t>(static_cast<uint32_t>(ex.user)),
                           static_cast<uint64_t>(static_cast<uint32_t>(ex.event_index))}));
}

// Draws items proportionally to a popularity weight, without replacement, skipping exclusions.
class PopularitySampler {
 public:
  PopularitySampler(const std::vector<int64_t>& clicks, double smoothing, double power) {
    cumulative_.assign(clicks.size() + 1, 0.0);
    for (size_t i = 0; i < clicks.size(); ++i) {
      double base = static_cast<double>(clicks[i]) + smoothing;
      double w = power == 0.0 ? 1.0 : (base > 0 ? std::pow(base, power) : 0.0);
      cumulative_[i + 1] = cumulative_[i] + w;
    }
  }

  // Appends to `chosen` until it holds `count` items or no eligible item is left. `excluded` is sorted.
  void fill(std::vector<int32_t>& chosen, size_t count, const std::vector<int32_t>& excluded, Rng& rng) const {
    const int32_t n = static_cast<int32_t>(cumulative_.size() - 1);
    auto eligible = [&](int32_t item) {
      return !std::binary_search(excluded.begin(), excluded.end(), item) &&
             std::find(chosen.begin(), chosen.end(), item) == chosen.end();
    };
    const double total = cumulative_.back();
    // Rejection sampling; bounded, because a user may have clicked most of the popular head.
    for (size_t attempts = 0; total > 0 && chosen.size() < count && attempts < 50 * count + 1000; ++attempts) {
      double u = rng.uniform() * total;
      int32_t item = static_cast<int32_t>(std::upper_bound(cumulative_.begin() + 1, cumulative_.end(), u) -
                                          cumulative_.begin() - 1);
      item = std::min(item, n - 1);
      if (cumulative_[item + 1] > cumulative_[item] && eligible(item)) chosen.push_back(item);
    }
    if (chosen.size() >= count) return;
    // Not enough positive-weight items: fill uniformly from what is left (documented).
    std::vector<int32_t> rest;
    for (int32_t i = 0; i < n; ++i)
      if (eligible(i)) rest.push_back(i);
    for (size_t k = 0; k < rest.size() && chosen.size() < count; ++k) {
      std::swap(rest[k], rest[k + rng.below(rest.size() - k)]);
      chosen.push_back(rest[k]);
    }
  }

 private:
  std::vector<double> cumulative_;
};

std::string table_path(Task task, Split split) {
  return fmt::format("candidates/{}/{}", task_name(task), split_name(split));
}

struct Context {
  const Dataset& dataset;
  const CandidateOptions& options;
  const PopularitySampler& popularity;
  const Bm25Index& bm25;
};

// One example's candidate row: target first, then the negatives.
std::vector<int32_t> candidate_row(const Context& ctx, Task task, Split split, const Example& ex,
                                   const std::vector<Event>& events) {
  GENSAR_CHECK(ex.event_index >= 0 && ex.event_index < static_cast<int32_t>(events.size()),
               "example (user {}, event {}) outside the user's {} events", ex.user, ex.event_index, events.size());
  const Event& target = events[ex.event_index];
  std::vector<int32_t> history;
  history.reserve(events.size());
  for (const Event& e : events) history.push_back(e.item);
  std::sort(history.begin(), history.end());
  history.erase(std::unique(history.begin(), history.end()), history.end());

  const size_t want = static_cast<size_t>(ctx.options.negatives);
  std::vector<int32_t> negatives;
  negatives.reserve(want);
  Rng rng = example_rng(ctx.options.seed, task, split, ex);
  if (task == Task::kSearch) {
    GENSAR_CHECK(target.kind == EventKind::kSearch && target.query >= 0,
                 "search example (user {}, event {}) has no query", ex.user, ex.event_index);
    for (const Bm25Hit& hit : ctx.bm25.top_k(ctx.dataset.query_text(target.query), want,
                                             {static_cast<uint32_t>(target.item)}))
      negatives.push_back(static_cast<int32_t>(hit.doc));
  }
  // Recommendation, and the search fill-up: popularity, never an item of the user's history.
  ctx.popularity.fill(negatives, want, history, rng);

  std::vector<int32_t> row;
  row.reserve(negatives.size() + 1);
  row.push_back(target.item);
  row.insert(row.end(), negatives.begin(), negatives.end());
  return row;
}

// One (task, split) table being written: user, event_index, offsets (starting at 0) and items.
struct TableWriter {
  TableWriter(h5::File& file, const std::string& base, size_t rows, int negatives)
      : user(file, base + "/user", h5::Type::kInt32, rows),
        event_index(file, base + "/event_index", h5::Type::kInt32, rows),
        offsets(file, base + "/offsets", h5::Type::kInt64, rows + 1),
        items(file, base + "/items", h5::Type::kInt32, rows * (negatives + 1)) {
    offsets.append(std::vector<int64_t>{0});
  }
  h5::AppendColumn user, event_index, offsets, items;
};

}  // namespace

void write_eval_candidates(const std::string& dataset_dir, const CandidateOptions& options) {
  GENSAR_INPUT_CHECK(options.negatives >= 1, "candidates: negatives must be >= 1, got {}", options.negatives);
  GENSAR_INPUT_CHECK(options.popularity_power >= 0, "candidates: popularity power must be >= 0, got {}",
                     options.popularity_power);
  GENSAR_INPUT_CHECK(options.popularity_smoothing >= 0, "candidates: popularity smoothing must be >= 0, got {}",
                     options.popularity_smoothing);
  Dataset dataset(dataset_dir);
  const int32_t n_items = dataset.num_items();
  GENSAR_INPUT_CHECK(n_items > options.negatives, "{}: {} items cannot give {} negatives per example",
                     dataset_dir, n_items, options.negatives);

  PopularitySampler popularity(dataset.item_popularity(), options.popularity_smoothing, options.popularity_power);
  Bm25Index bm25(Bm25Params{options.bm25_k1, options.bm25_b});
  for (int32_t i = 0; i < n_items; ++i) {
    bm25.add(bm25_item_document(dataset.item_title(i), dataset.item_description(i), dataset.item_brand(i),
                                dataset.item_categories(i), options.bm25_fields));
  }
  Context ctx{dataset, options, popularity, bm25};

  nlohmann::json meta = {{"negatives", options.negatives},
                         {"seed", options.seed},
                         {"popularity_smoothing", options.popularity_smoothing},
                         {"popularity_power", options.popularity_power},
                         {"bm25_k1", options.bm25_k1},
                         {"bm25_b", options.bm25_b},
                         {"bm25_fields", bm25_fields_name(options.bm25_fields)},
                         {"protocol", "rec: popularity negatives excluding the user's items; "
                                      "search: BM25 top hits excluding the target, popularity fill"}};
  const fs::path final_path = fs::path(dataset_dir) / kFileName;
  int64_t short_rows = 0;
  size_t written[2][2] = {{0, 0}, {0, 0}};
  replace_file_atomically(final_path.string(), [&](const std::string& temp) {
    h5::File file = h5::File::create(temp);
    StringColumn meta_column;
    meta_column.push_back(meta.dump());
    file.write_column("meta/options", meta_column);
    file.write("meta/negatives", std::vector<int64_t>{options.negatives});
    file.write("meta/seed", std::vector<int64_t>{static_cast<int64_t>(options.seed)});
    std::unique_ptr<TableWriter> tables[2][2];
    for (int t = 0; t < 2; ++t)
      for (int sp = 0; sp < 2; ++sp)
        tables[t][sp] = std::make_unique<TableWriter>(file, table_path(kTasks[t], kEvalSplits[sp]),
                                                      dataset.examples(kTasks[t], kEvalSplits[sp]).size(),
                                                      options.negatives);
    const int threads = std::max(1, options.threads);
    // Shard by shard (memory: one shard and its rows): examples are in global user order, so each
    // shard's examples are one contiguous range.
    for (int s = 0; s < dataset.num_shards(); ++s) {
      const Shard shard = dataset.load_shard(s);
      const int32_t first = shard.first_user, last = shard.first_user + shard.num_users();
      for (int t = 0; t < 2; ++t) {
        for (int sp = 0; sp < 2; ++sp) {
          const auto& examples = dataset.examples(kTasks[t], kEvalSplits[sp]);
          auto by_user = [](const Example& e, int32_t u) { return e.user < u; };
          auto lo = std::lower_bound(examples.begin(), examples.end(), first, by_user);
          auto hi = std::lower_bound(lo, examples.end(), last, by_user);
          const size_t begin = lo - examples.begin(), count = hi - lo;
          std::vector<std::vector<int32_t>> rows(count);
          auto work = [&](size_t from, size_t to) {
            for (size_t k = from; k < to; ++k) {
              const Example& ex = examples[begin + k];
              rows[k] = candidate_row(ctx, kTasks[t], kEvalSplits[sp], ex, shard.user_events(ex.user - first));
            }
          };
          std::vector<std::thread> pool;
          const size_t chunk = (count + threads - 1) / threads;
          for (int w = 1; w < threads && w * chunk < count; ++w)
            pool.emplace_back(work, w * chunk, std::min(count, (w + 1) * chunk));
          work(0, std::min(count, chunk));
          for (auto& th : pool) th.join();

          std::vector<int32_t> users, event_indices, items;
          std::vector<int64_t> offsets;
          int64_t offset = static_cast<int64_t>(tables[t][sp]->items.size());
          for (size_t k = 0; k < count; ++k) {
            users.push_back(examples[begin + k].user);
            event_indices.push_back(examples[begin + k].event_index);
            items.insert(items.end(), rows[k].begin(), rows[k].end());
            offset += static_cast<int64_t>(rows[k].size());
            offsets.push_back(offset);
            short_rows += rows[k].size() < static_cast<size_t>(options.negatives) + 1;
          }
          TableWriter& table = *tables[t][sp];
          table.user.append(users);
          table.event_index.append(event_indices);
          table.items.append(items);
          table.offsets.append(offsets);
          written[t][sp] += count;
        }
      }
    }
    for (int t = 0; t < 2; ++t)
      for (int sp = 0; sp < 2; ++sp)
        GENSAR_CHECK(written[t][sp] == dataset.examples(kTasks[t], kEvalSplits[sp]).size(),
                     "{}: {} candidate rows for {} examples (examples not in shard order?)",
                     table_path(kTasks[t], kEvalSplits[sp]), written[t][sp],
                     dataset.examples(kTasks[t], kEvalSplits[sp]).size());
  });
  if (short_rows > 0) {
    GENSAR_WARN("data", "{} evaluation examples have fewer than {} negatives (users who clicked nearly every item)",
                short_rows, options.negatives);
  }
  // A dataset records every file's checksum and verifies it on open: rewriting the candidates of
  // an existing dataset updates that record (ingest writes the manifest again afterwards anyway).
  const fs::path manifest_path = fs::path(dataset_dir) / "manifest.json";
  if (fs::exists(manifest_path)) {
    std::ifstream in(manifest_path);
    nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    in.close();
    if (manifest.is_object() && manifest.contains("files")) {
      manifest["files"][kFileName] = file_checksum(final_path.string());
      write_file_atomically(manifest_path.string(), manifest.dump(2) + "\n");
    }
  }
  GENSAR_INFO("data", "eval candidates: rec {}+{} and search {}+{} (valid+test) examples, {} negatives each -> {}",
              written[0][0], written[0][1], written[1][0], written[1][1],
              options.negatives, final_path.string());
}

const EvalCandidates::Table& EvalCandidates::table(Task task, Split split) const {
  GENSAR_CHECK(split == Split::kValid || split == Split::kTest, "eval candidates exist for valid/test only, not {}",
               split_name(split));
  return tables_[static_cast<int>(task)][split == Split::kValid ? 0 : 1];
}

size_t EvalCandidates::size(Task task, Split split) const { return table(task, split).user.size(); }

EvalCandidates::Row EvalCandidates::row(Task task, Split split, size_t example) const {
  const Table& t = table(task, split);
  GENSAR_CHECK(example < t.user.size(), "{} {} candidates: example {} of {}", task_name(task), split_name(split),
               example, t.user.size());
  Row r;
  r.user = t.user[example];
  r.event_index = t.event_index[example];
  r.items = t.items.data() + t.offsets[example];
  r.size = static_cast<int32_t>(t.offsets[example + 1] - t.offsets[example]);
  return r;
}

EvalCandidates load_eval_candidates(const std::string& dir) {
  const fs::path path = fs::path(dir) / kFileName;
  GENSAR_INPUT_CHECK(fs::exists(path), "{}: no evaluation candidates (ingest writes them)", path.string());
  verify_dataset_file(dir, kFileName);
  h5::File file = h5::File::open(path.string());
  EvalCandidates c;
  StringColumn meta = file.read_column("meta/options");
  GENSAR_INPUT_CHECK(meta.size() == 1, "{}: field 'meta/options' must hold one string", path.string());
  c.options_json_ = std::string(meta.get(0));
  auto negatives = file.read<int64_t>("meta/negatives");
  auto seed = file.read<int64_t>("meta/seed");
  GENSAR_INPUT_CHECK(negatives.size() == 1 && seed.size() == 1, "{}: malformed 'meta'", path.string());
  c.negatives_ = static_cast<int>(negatives[0]);
  c.seed_ = static_cast<uint64_t>(seed[0]);
  for (int t = 0; t < 2; ++t) {
    for (int sp = 0; sp < 2; ++sp) {
      const std::string base = table_path(kTasks[t], kEvalSplits[sp]);
      EvalCandidates::Table& table = c.tables_[t][sp];
      table.user = file.read<int32_t>(base + "/user");
      table.event_index = file.read<int32_t>(base + "/event_index");
      table.items = file.read<int32_t>(base + "/items");
      table.offsets = file.read<int64_t>(base + "/offsets");
      GENSAR_INPUT_CHECK(table.event_index.size() == table.user.size() &&
                             table.offsets.size() == table.user.size() + 1 && table.offsets.front() == 0 &&
                             table.offsets.back() == static_cast<int64_t>(table.items.size()),
                         "{}: field '{}' has inconsistent lengths", path.string(), base);
    }
  }
  return c;
}

}  // namespace gensar::data
