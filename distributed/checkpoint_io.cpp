#include "distributed/checkpoint_io.h"

#include "core/common/check.h"
#include "core/common/log.h"

#include <torch/torch.h>

#include <fcntl.h>
#include <unistd.h>

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

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
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

}  // namespace

std::string shard_file_name(const std::string& kind, int tp_rank, int dp_rank,
                            const std::string& extension) {
  return fmt::format("{}-tp{:02d}-dp{:03d}.{}", kind, tp_rank, dp_rank, extension);
}

void save_tensors(const std::string& path, const TensorMap& tensors) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : tensors) {
    GENSAR_CHECK(tensor.defined(), "save_tensors({}): tensor '{}' is undefined", path, name);
    archive.write(name, tensor.detach().cpu());
  }
  archive.save_to(path);
}

TensorMap load_tensors(const std::string& path) {
  GENSAR_INPUT_CHECK(fs::exists(path), "checkpoint file {} does not exist", path);
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  TensorMap out;
  for (const std::string& key : archive.keys()) {
    torch::Tensor t;
    GENSAR_CHECK(archive.try_read(key, t), "{}: cannot read tensor '{}'", path, key);
    out.emplace(key, t);
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  std::string temp = fmt::format("{}.partial-{}", path, ::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    GENSAR_INPUT_CHECK(out.good(), "cannot write {}", temp);
    out << content;
    out.flush();
    GENSAR_INPUT_CHECK(out.good(), "writing {} failed (disk full?)", temp);
  }
  fsync_path(temp, false);
  fs::rename(temp, path);
  fsync_path(fs::path(path).parent_path().string(), true);
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

std::optional<CheckpointRef> find_latest_checkpoint(const std::string& root) {
  if (auto marked = read_marker(root, "latest")) return marked;
  auto all = list_checkpoints(root);
  if (all.empty()) return std::nullopt;
  return all.back();
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

std::string CheckpointWriter::commit(std::optional<double> metric, bool higher_is_better) {
  GENSAR_CHECK(!staging_.empty(), "CheckpointWriter::commit before begin()");
  comm_->barrier();  // every rank's shards are on disk
  const fs::path final_dir = fs::path(root_) / step_dir_name(step_);
  if (comm_->rank() == 0) {
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

    if (metric) {
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
