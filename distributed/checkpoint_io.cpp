#include "distributed/checkpoint_io.h"

#include "core/common/check.h"
#include "core/common/log.h"
#include "data_pipeline/checksum.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace gensar::dist {
namespace fs = std::filesystem;
namespace {

std::string step_dir_name(int64_t step) { return fmt::format("step-{}", step); }

// step-N (complete) -> N; anything else (step-N.tmp, other files) -> nullopt.
std::optional<int64_t> parse_step_dir(const std::string& name) {
  static const std::regex pattern("step-([0-9]+)");
  std::smatch match;
  if (!std::regex_match(name, match, pattern)) return std::nullopt;
  return std::stoll(match[1].str());
}

std::optional<CheckpointRef> read_marker(const std::string& root, const std::string& marker) {
  std::ifstream in(fs::path(root) / marker);
  if (!in) return std::nullopt;
  std::string name;
  in >> name;
  auto step = parse_step_dir(name);
  if (!step) return std::nullopt;
  fs::path dir = fs::path(root) / name;
  if (!fs::is_directory(dir)) return std::nullopt;
  return CheckpointRef{*step, dir.string()};
}


// First line of a torch error: the rest is a C++ backtrace that hides the file name.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string shard_file_name(const std::string& kind, int tp_rank, int dp_rank,
                            const std::string& extension) {
  return fmt::format("{}-tp{:02d}-dp{:03d}.{}", kind, tp_rank, dp_rank, extension);
}

void save_archive(const std::string& path, torch::serialize::OutputArchive& archive) {
  write_file_atomically(path, [&archive](const ByteSink& sink) {
    // The writer always reports success to torch: a short count makes torch throw from its
    // stream writer's destructor (std::terminate, exit 134). write_file_atomically records the
    // failure itself and throws once the archive is finished.
    archive.save_to([&sink](const void* data, size_t n) -> size_t {
      sink(data, n);
      return n;
    });
  });
}

void save_tensors(const std::string& path, const TensorMap& tensors) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : tensors) {
    GENSAR_CHECK(tensor.defined(), "save_tensors({}): tensor '{}' is undefined", path, name);
    archive.write(name, tensor.detach().cpu());
  }
  save_archive(path, archive);
}

TensorMap load_tensors(const std::string& path) {
  GENSAR_INPUT_CHECK(fs::exists(path), "checkpoint file {} does not exist", path);
  TensorMap out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    for (const std::string& key : archive.keys()) {
      torch::Tensor t;
      GENSAR_CHECK(archive.try_read(key, t), "{}: cannot read tensor '{}'", path, key);
      out.emplace(key, t);
    }
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a readable tensor archive (truncated or corrupt): {}",
                                 path, first_line(e.what())));
  }
  return out;
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_file_atomically(path, value.dump(2) + "\n");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  GENSAR_INPUT_CHECK(in.good(), "cannot read {}", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: invalid JSON: {}", path, e.what()));
  }
}

std::vector<CheckpointRef> list_checkpoints(const std::string& root) {
  std::vector<CheckpointRef> out;
  if (!fs::is_directory(root)) return out;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    if (auto step = parse_step_dir(entry.path().filename().string())) {
      out.push_back({*step, entry.path().string()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointRef& a, const CheckpointRef& b) { return a.step < b.step; });
  return out;
}

void verify_checkpoint(const std::string& dir) {
  const fs::path sums_path = fs::path(dir) / kChecksumsFile;
  if (!fs::exists(sums_path)) return;
  const nlohmann::json sums = read_json_file(sums_path.string());
  GENSAR_INPUT_CHECK(sums.is_object() && !sums.empty(), "{}: expected an object of file checksums",
                     sums_path.string());
  for (const auto& [name, expected] : sums.items()) {
    const fs::path file = fs::path(dir) / name;
    GENSAR_INPUT_CHECK(fs::exists(file), "{}: missing (listed in {})", file.string(), kChecksumsFile);
    const std::string actual = data::file_checksum(file.string());
    GENSAR_INPUT_CHECK(expected.is_string() && actual == expected.get<std::string>(),
                       "{}: checksum {} differs from the {} recorded at save time (corrupt or "
                       "truncated)", file.string(), actual, expected.dump());
  }
}

std::optional<CheckpointRef> find_latest_checkpoint(const std::string& root) {
  std::vector<CheckpointRef> candidates;
  if (auto marked = read_marker(root, "latest")) candidates.push_back(*marked);
  auto all = list_checkpoints(root);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (candidates.empty() || it->step != candidates.front().step) candidates.push_back(*it);
  std::string failures;
  for (const CheckpointRef& ref : candidates) {
    try {
      verify_checkpoint(ref.path);
      if (!failures.empty())
        GENSAR_WARN("checkpoint", "falling back to {}, the newest intact checkpoint", ref.path);
      return ref;
    } catch (const InputError& e) {
      GENSAR_WARN("checkpoint", "skipping {}: {}", ref.path, e.what());
      failures += fmt::format("\n  {}", e.what());
    }
  }
  GENSAR_INPUT_CHECK(candidates.empty(), "{}: no intact checkpoint:{}", root, failures);
  return std::nullopt;
}

std::optional<CheckpointRef> find_best_checkpoint(const std::string& root) {
  return read_marker(root, "best");
}

CheckpointWriter::CheckpointWriter(std::string root, std::shared_ptr<Communicator> comm,
                                   int keep_last)
    : root_(std::move(root)), comm_(std::move(comm)), keep_last_(keep_last) {
  GENSAR_INPUT_CHECK(keep_last_ >= 1, "--keep-checkpoints must be at least 1, got {}", keep_last_);
}

std::string CheckpointWriter::begin(int64_t step) {
  GENSAR_CHECK(step >= 0, "checkpoint step {} is negative", step);
  step_ = step;
  staging_ = (fs::path(root_) / (step_dir_name(step) + ".tmp")).string();
  if (comm_->rank() == 0) {
    fs::create_directories(root_);
    // Leftovers of a crashed save are incomplete by definition.
    for (const auto& entry : fs::directory_iterator(root_)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("step-", 0) == 0 && name.size() > 4 &&
          name.compare(name.size() - 4, 4, ".tmp") == 0) {
        GENSAR_WARN("checkpoint", "removing incomplete checkpoint {}", entry.path().string());
        fs::remove_all(entry.path());
      }
    }
    fs::create_directories(staging_);
  }
  comm_->barrier();
  return staging_;
}

std::string CheckpointWriter::path(const std::string& file_name) const {
  GENSAR_CHECK(!staging_.empty(), "CheckpointWriter::path before begin()");
  return (fs::path(staging_) / file_name).string();
}

void CheckpointWriter::save_tensors(const std::string& file_name, const TensorMap& tensors) const {
  dist::save_tensors(path(file_name), tensors);
}

void CheckpointWriter::save_json(const std::string& file_name, const nlohmann::json& value) const {
  write_json_file(path(file_name), value);
}

void write_checkpoint_checksums(const std::string& dir) {
  nlohmann::json sums = nlohmann::json::object();
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != kChecksumsFile)
      sums[entry.path().filename().string()] = data::file_checksum(entry.path().string());
  write_json_file((fs::path(dir) / kChecksumsFile).string(), sums);
}

std::string CheckpointWriter::commit(std::optional<double> metric, bool higher_is_better) {
  GENSAR_CHECK(!staging_.empty(), "CheckpointWriter::commit before begin()");
  comm_->barrier();  // every rank's shards are on disk
  const fs::path final_dir = fs::path(root_) / step_dir_name(step_);
  if (comm_->rank() == 0) {
    write_checkpoint_checksums(staging_);
    fsync_path(staging_, true);
    // Re-saving a step (after a resume) replaces it; the old copy is moved aside first so the
    // rename below still sees an empty target.
    fs::path replaced;
    if (fs::exists(final_dir)) {
      replaced = final_dir.string() + ".replaced.tmp";
      fs::remove_all(replaced);
      fs::rename(final_dir, replaced);
    }
    fs::rename(staging_, final_dir);
    fsync_path(root_, true);
    write_file_atomically((fs::path(root_) / "latest").string(), step_dir_name(step_) + "\n");
    if (!replaced.empty()) fs::remove_all(replaced);

    // A NaN/inf score (a diverged model) never becomes `best`.
    if (metric && std::isfinite(*metric)) {
      const std::string best_json = (fs::path(root_) / "best.json").string();
      bool better = true;
      if (fs::exists(best_json) && find_best_checkpoint(root_)) {
        double previous = read_json_file(best_json).at("metric").get<double>();
        better = higher_is_better ? *metric > previous : *metric < previous;
      }
      if (better) {
        write_json_file(best_json, {{"step", step_}, {"path", step_dir_name(step_)},
                                    {"metric", *metric}});
        write_file_atomically((fs::path(root_) / "best").string(), step_dir_name(step_) + "\n");
      }
    }

    auto best = find_best_checkpoint(root_);
    auto all = list_checkpoints(root_);
    int excess = static_cast<int>(all.size()) - keep_last_;
    for (int i = 0; i < excess; ++i) {
      if (best && best->step == all[i].step) continue;
      fs::remove_all(all[i].path);
    }
    GENSAR_INFO("checkpoint", "saved {}", final_dir.string());
  }
  comm_->barrier();
  staging_.clear();
  return final_dir.string();
}

}  // namespace gensar::dist
