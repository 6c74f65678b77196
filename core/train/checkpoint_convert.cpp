#include "core/train/checkpoint_convert.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/model/t5_model.h"
#include "core/train/run_layout.h"
#include "core/train/train_checkpoint.h"

namespace fs = std::filesystem;

namespace gensar::train {
namespace {

const char kFilePrefix[] = "file.";  // no parameter name starts with "file."

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  GENSAR_INPUT_CHECK(in.good(), "cannot read {}", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  GENSAR_INPUT_CHECK(out.good(), "cannot write {}", path.string());
}

bool is_vocab_matrix(const std::string& name) {
  return name == "shared.weight" || name == "lm_head.weight";
}

// Per-rank state files (model/optimiser/RNG shards) are regenerated or dropped; the rest is copied.
bool is_rank_file(const std::string& name) {
  for (const char* kind : {"model-tp", "optim-tp", "rng-tp"})
    if (name.rfind(kind, 0) == 0) return true;
  return false;
}

int checkpoint_tp_size(const std::string& dir) {
  return train_state_from_json(dist::read_json_file(run_layout::in_dir(dir, run_layout::kStateFile))).tp_size;
}

std::map<std::string, std::string> checkpoint_side_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (!is_rank_file(name)) files[name] = read_bytes(entry.path());
  }
  GENSAR_INPUT_CHECK(files.count(run_layout::kStateFile) && files.count(run_layout::kModelConfigFile),
                     "{}: not a GenSAR checkpoint (state.json or model.json missing)", dir);
  return files;
}

torch::Tensor bytes_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_bytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()),
                     static_cast<size_t>(c.numel()));
}

// A tensor the model of model.json does not have cannot be split or joined: say so.
int partition_dim_of(const std::map<std::string, int>& dims, const std::string& name,
                     const std::string& source) {
  auto it = dims.find(name);
  GENSAR_INPUT_CHECK(it != dims.end(), "{}: tensor '{}' is not a parameter of the model that "
                     "model.json describes", source, name);
  return it->second;
}

}  // namespace

dist::TensorMap load_full_parameters(const std::string& checkpoint_dir) {
  const int tp_size = checkpoint_tp_size(checkpoint_dir);
  const auto dims = model::partition_dims_for(t5_config_from_json(
      dist::read_json_file(run_layout::in_dir(checkpoint_dir, run_layout::kModelConfigFile))));
  std::vector<dist::TensorMap> shards;
  for (int r = 0; r < tp_size; ++r) {
    const fs::path f = fs::path(checkpoint_dir) / dist::shard_file_name("model", r, 0);
    GENSAR_INPUT_CHECK(fs::exists(f), "{}: state.json says TP size {}, but {} is missing",
                       checkpoint_dir, tp_size, f.filename().string());
    shards.push_back(dist::load_tensors(f.string()));
  }
  dist::TensorMap full;
  for (const auto& [name, first] : shards[0]) {
    const int dim = partition_dim_of(dims, name, checkpoint_dir);
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < tp_size; ++r) {
      auto it = shards[r].find(name);
      GENSAR_INPUT_CHECK(it != shards[r].end(), "{}: shard {} has no tensor '{}'", checkpoint_dir, r,
                         name);
      parts.push_back(it->second);
    }
    if (dim < 0) {
      for (int r = 1; r < tp_size; ++r)
        GENSAR_CHECK(torch::equal(parts[r], first), "{}: replicated '{}' differs on TP rank {}",
                     checkpoint_dir, name, r);
      full[name] = first;
    } else {
      full[name] = torch::cat(parts, dim);
    }
  }
  return full;
}

std::vector<dist::TensorMap> split_parameters(const dist::TensorMap& full,
                                              const std::map<std::string, int>& partition_dims,
                                              int tp_size) {
  GENSAR_INPUT_CHECK(tp_size >= 1, "TP size must be >= 1, got {}", tp_size);
  std::vector<dist::TensorMap> shards(tp_size);
  for (const auto& [name, t] : full) {
    const int dim = partition_dim_of(partition_dims, name, "parameters to split");
    if (dim < 0) {
      for (auto& s : shards) s[name] = t;
      continue;
    }
    GENSAR_INPUT_CHECK(t.size(dim) % tp_size == 0, "'{}' has {} along dim {}: not divisible by TP {}",
                       name, t.size(dim), dim, tp_size);
    auto parts = t.chunk(tp_size, dim);
    // clone(): a chunk is a view, and serialising a view would write the whole storage.
    for (int r = 0; r < tp_size; ++r) shards[r][name] = parts[r].clone();
  }
  return shards;
}

int64_t pad_vocabulary(dist::TensorMap& full, int64_t multiple) {
  int64_t vocab = -1;
  for (auto& [name, t] : full) {
    if (!is_vocab_matrix(name)) continue;
    const int64_t padded = model::pad_vocab_size(t.size(0), multiple);
    if (padded > t.size(0))
      t = torch::cat({t, torch::zeros({padded - t.size(0), t.size(1)}, t.options())}, 0);
    vocab = padded;
  }
  GENSAR_INPUT_CHECK(vocab > 0, "checkpoint has no shared.weight: not a T5 model");
  return vocab;
}

namespace {

// The full parameters and side files of a checkpoint directory or a single-file model.
SingleFileModel load_model(const std::string& path) {
  if (!fs::is_directory(path)) return read_single_file_model(path);
  return {load_full_parameters(path), checkpoint_side_files(path)};
}

// Adds `other`'s parameters into `sum` after checking that both are the same model over the same
// items: same architecture (model.json), tokenizer and identifiers, same parameter names and shapes.
void accumulate_parameters(dist::TensorMap& sum, const std::map<std::string, std::string>& files,
                           const SingleFileModel& other, const std::string& other_path) {
  for (const char* name : {run_layout::kModelConfigFile, run_layout::kTokenizerFile, run_layout::kIdentifiersFile}) {
    const auto mine = files.find(name);
    const auto theirs = other.files.find(name);
    GENSAR_INPUT_CHECK(mine != files.end() && theirs != other.files.end() && mine->second == theirs->second,
                       "--average-with {}: its {} differs from the first checkpoint's (only steps of "
                       "one run can be averaged)", other_path, name);
  }
  GENSAR_INPUT_CHECK(other.parameters.size() == sum.size(),
                     "--average-with {}: {} parameters, the first checkpoint has {}", other_path,
                     other.parameters.size(), sum.size());
  for (auto& [name, total] : sum) {
    const auto it = other.parameters.find(name);
    GENSAR_INPUT_CHECK(it != other.parameters.end() && it->second.sizes() == total.sizes(),
                       "--average-with {}: parameter {} missing or of another shape", other_path, name);
    total.add_(it->second.to(total.scalar_type()));
  }
}

}  // namespace

void convert_checkpoint(const std::string& in_path, const std::string& out_dir, int tp_size,
                        const std::vector<std::string>& average_with) {
  GENSAR_INPUT_CHECK(!fs::exists(out_dir), "{}: already exists (choose a new output directory)",
                     out_dir);
  const bool from_dir = fs::is_directory(in_path);
  SingleFileModel first = load_model(in_path);
  dist::TensorMap full = std::move(first.parameters);
  std::map<std::string, std::string> files = std::move(first.files);
  if (!average_with.empty()) {
    // Summed in double so the mean of a few float32 checkpoints is exact to float32 rounding.
    for (auto& [name, t] : full) t = t.to(torch::kFloat64);
    for (const auto& path : average_with) accumulate_parameters(full, files, load_model(path), path);
    for (auto& [name, t] : full) t = (t / double(average_with.size() + 1)).to(torch::kFloat32);
  }

  model::T5Config config = t5_config_from_json(nlohmann::json::parse(files.at(run_layout::kModelConfigFile)));
  const int64_t vocab = pad_vocabulary(full, tp_size);
  if (vocab != config.vocab_size) {
    GENSAR_WARN("convert", "vocabulary padded from {} to {} rows (zero rows) to split over {} TP ranks",
                config.vocab_size, vocab, tp_size);
    config.vocab_size = vocab;
  }
  config.validate(tp_size);

  TrainState state = train_state_from_json(nlohmann::json::parse(files.at(run_layout::kStateFile)));
  const int source_tp = state.tp_size;
  // Same layout from a directory: the optimiser and RNG files still match, so copy them and the
  // result stays resumable. Otherwise they are dropped (AdamW's archive keys its state by tensor
  // identity, not by name, so it cannot be re-sharded from the file alone).
  const bool keep_optimizer = from_dir && source_tp == tp_size && average_with.empty() &&
                              fs::exists(fs::path(in_path) / dist::shard_file_name("optim", 0, 0));
  nlohmann::json state_json = to_json(state);
  state_json["tp_size"] = tp_size;
  if (!average_with.empty()) {
    nlohmann::json sources = nlohmann::json::array({in_path});
    for (const auto& path : average_with) sources.push_back(path);
    state_json["averaged_from"] = sources;  // uniform mean of these checkpoints' parameters
    state_json["optimizer"] = "dropped";
  } else if (!keep_optimizer) {
    state_json["optimizer"] = "dropped";
    state_json["converted_from_tp_size"] = source_tp;
    GENSAR_WARN("convert", "optimiser and dropout RNG state not carried over (TP {} -> {}): the "
                "converted checkpoint is for inference or fine-tuning with a fresh optimiser",
                source_tp, tp_size);
  }

  const fs::path tmp = out_dir + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto shards = split_parameters(full, model::partition_dims_for(config), tp_size);
  for (int r = 0; r < tp_size; ++r)
    dist::save_tensors((tmp / dist::shard_file_name("model", r, 0)).string(), shards[r]);
  if (keep_optimizer) {
    for (const auto& entry : fs::directory_iterator(in_path)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("optim-tp", 0) == 0 || name.rfind("rng-tp", 0) == 0)
        fs::copy_file(entry.path(), tmp / name);
    }
  }
  for (const auto& [name, bytes] : files) {
    if (name == run_layout::kStateFile || name == run_layout::kModelConfigFile ||
        name == dist::kChecksumsFile)
      continue;
    write_bytes(tmp / name, bytes);
  }
  write_bytes(tmp / run_layout::kModelConfigFile, to_json(config).dump(2));
  write_bytes(tmp / run_layout::kStateFile, state_json.dump(2));
  dist::write_checkpoint_checksums(tmp.string());
  fs::rename(tmp, out_dir);
  GENSAR_INFO("convert", "{} (TP {}){} -> {} (TP {}, {} parameters)", in_path, source_tp,
              average_with.empty() ? "" : fmt::format(" averaged with {} more", average_with.size()),
              out_dir, tp_size, full.size());
}

void write_single_file_model(const std::string& checkpoint_dir, const std::string& path) {
  dist::TensorMap out = load_full_parameters(checkpoint_dir);
  for (const auto& [name, bytes] : checkpoint_side_files(checkpoint_dir)) {
    nlohmann::json state;
    if (name == run_layout::kStateFile) {
      // The single file holds the full model: it loads as TP 1 wherever it is unpacked.
      state = nlohmann::json::parse(bytes);
      state["converted_from_tp_size"] = state.value("tp_size", 1);
      state["tp_size"] = 1;
      state["optimizer"] = "dropped";
      out[kFilePrefix + name] = bytes_tensor(state.dump(2));
    } else {
      out[kFilePrefix + name] = bytes_tensor(bytes);
    }
  }
  const std::string tmp = path + ".tmp";
  dist::save_tensors(tmp, out);
  fs::rename(tmp, path);
  GENSAR_INFO("convert", "{} -> single file {}", checkpoint_dir, path);
}

SingleFileModel read_single_file_model(const std::string& path) {
  SingleFileModel model;
  for (auto& [name, t] : dist::load_tensors(path)) {
    if (name.rfind(kFilePrefix, 0) == 0)
      model.files[name.substr(sizeof(kFilePrefix) - 1)] = tensor_bytes(t);
    else
      model.parameters[name] = t;
  }
  GENSAR_INPUT_CHECK(model.files.count(run_layout::kModelConfigFile) && model.files.count(run_layout::kStateFile),
                     "{}: not a GenSAR single-file model (no file.model.json / file.state.json)", path);
  return model;
}

}  // namespace gensar::train
