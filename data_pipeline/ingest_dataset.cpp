#include "data_pipeline/ingest_dataset.h"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/common/check.h"
#include "core/common/h5.h"
#include "core/common/read_file.h"
#include "data_pipeline/checksum.h"
#include "data_pipeline/ingest_shard.h"

namespace gensar::data {

namespace fs = std::filesystem;
using nlohmann::json;

ShardSummary read_shard_summary(const std::string& parts, int num_shards) {
  ShardSummary summary;
  for (int s = 0; s < num_shards; ++s) {
    json meta = json::parse(read_file(fmt::format("{}/shard-{:05d}.json", parts, s)));
    int32_t users = meta.at("users").get<int32_t>();
    summary.list.push_back({{"file", shard_name(s)},
                            {"first_user", summary.users},
                            {"users", users},
                            {"events", meta.at("events")},
                            {"checksum", meta.at("checksum")}});
    for (int k = 0; k < 6; ++k) summary.examples[k] += meta.at("examples")[k].get<size_t>();
    summary.first_users.push_back(summary.users);
    summary.users += users;
    summary.events += meta.at("events").get<int64_t>();
  }
  return summary;
}

json write_splits(const std::string& tmp, const std::string& parts, const ShardSummary& shards) {
  json split_sizes;
  h5::File f = h5::File::create(tmp + "/splits.h5");
  auto base = [](int k) {
    return std::string(task_name(static_cast<Task>(k / 3))) + "/" + split_name(static_cast<Split>(k % 3));
  };
  for (int k = 0; k < 6; ++k) {
    f.create_fixed<int32_t>(base(k) + "/user", shards.examples[k]);
    f.create_fixed<int32_t>(base(k) + "/event_index", shards.examples[k]);
    split_sizes[task_name(static_cast<Task>(k / 3))][split_name(static_cast<Split>(k % 3))] =
        shards.examples[k];
  }
  size_t written[6] = {0, 0, 0, 0, 0, 0};
  for (size_t s = 0; s < shards.first_users.size(); ++s) {
    std::vector<Example> examples[2][3];
    read_examples(fmt::format("{}/examples-{:05d}.bin", parts, s), shards.first_users[s], examples);
    for (int k = 0; k < 6; ++k) {
      const auto& list = examples[k / 3][k % 3];
      std::vector<int32_t> user(list.size()), index(list.size());
      for (size_t i = 0; i < list.size(); ++i) {
        user[i] = list[i].user;
        index[i] = list[i].event_index;
      }
      f.write_slab(base(k) + "/user", written[k], user);
      f.write_slab(base(k) + "/event_index", written[k], index);
      written[k] += list.size();
    }
  }
  for (int k = 0; k < 6; ++k)
    GENSAR_CHECK(written[k] == shards.examples[k], "{}: wrote {} examples, shards announced {}", base(k),
                 written[k], shards.examples[k]);
  return split_sizes;
}

void write_items_and_queries(const std::string& tmp, const std::vector<RawItem>& catalogue,
                             const std::vector<int64_t>& popularity, const StringColumn& query_texts) {
  StringColumn key, title, description, brand, categories;
  for (const auto& it : catalogue) {
    key.push_back(it.id);
    title.push_back(it.title);
    description.push_back(it.description);
    brand.push_back(it.brand);
    categories.push_back(it.categories);
  }
  // In this order: the bytes of items.h5 (checksummed in the manifest) depend on it.
  const std::pair<const char*, const StringColumn*> text_columns[] = {
      {"key", &key}, {"title", &title}, {"description", &description}, {"brand", &brand}, {"categories", &categories}};
  h5::File items = h5::File::create(tmp + "/items.h5");
  for (const auto& [name, column] : text_columns) items.write_column(name, *column);
  items.write("popularity", popularity);
  h5::File queries = h5::File::create(tmp + "/queries.h5");
  queries.write_column("text", query_texts);
}

json make_manifest(const RawReader& reader, const IngestOptions& o, bool derive, const std::string& config_hash,
                   const SourceCounts& counts, const ShardSummary& shards, const json& split_sizes,
                   const std::string& tmp) {
  return {{"schema_version", kSchemaVersion},
          {"created_by", "gensar ingest"},
          {"source", reader.source()},
          {"config_hash", config_hash},
          {"counts",
           {{"users", shards.users},
            {"items", counts.items},
            {"queries", counts.queries},
            {"rec_events", counts.rec_events},
            {"search_events", counts.search_events},
            {"interactions", counts.rec_events + counts.search_events}}},
          {"search_events",
           {{"origin", reader.has_search_events() ? "source" : derive ? "derived-ai2017" : "none"},
            {"mode", reader.has_search_events() ? "source" : o.search_events},
            {"fraction", o.search_events == "fraction" ? o.search_fraction : (derive ? 1.0 : 0.0)}}},
          {"split",
           {{"protocol", o.split.protocol},
            {"min_prior_rec", o.split.min_prior_rec},
            {"min_prior_search", o.split.min_prior_search},
            {"test_start", o.split.test_start},
            {"valid_start", o.split.valid_start},
            {"sizes", split_sizes}}},
          {"seed", o.seed},
          {"buckets", o.buckets},
          {"hash", "xxh64 of the user key, seed 0, modulo buckets; shards are runs of buckets"},
          {"shards", shards.list},
          {"files",
           {{"items.h5", file_checksum(tmp + "/items.h5")},
            {"queries.h5", file_checksum(tmp + "/queries.h5")},
            {"splits.h5", file_checksum(tmp + "/splits.h5")}}},
          {"complete", false}};
}

void move_into_place(const std::string& tmp, const std::string& out) {
  std::string old = fmt::format("{}.old-{}", out, ::getpid());
  bool had_old = fs::exists(out);
  if (had_old) fs::rename(out, old);
  fs::rename(tmp, out);
  if (had_old) fs::remove_all(old);
}

}  // namespace gensar::data
