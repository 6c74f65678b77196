#include "core/train/train_checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/train/run_layout.h"

namespace fs = std::filesystem;

namespace gensar::train {

nlohmann::json to_json(const TrainState& s) {
  return {{"step", s.step},           {"consumed_samples", s.consumed_samples},
          {"epoch", s.epoch},         {"best_metric", s.best_metric},
          {"bad_validations", s.bad_validations}, {"tp_size", s.tp_size},
          {"dp_size", s.dp_size},     {"global_batch", s.global_batch}};
}

TrainState train_state_from_json(const nlohmann::json& j) {
  TrainState s;
  s.step = j.at("step").get<int64_t>();
  s.consumed_samples = j.at("consumed_samples").get<int64_t>();
  s.epoch = j.value("epoch", int64_t{0});
  s.best_metric = j.value("best_metric", -1.0);
  s.bad_validations = j.value("bad_validations", 0);
  s.tp_size = j.value("tp_size", 1);
  s.dp_size = j.value("dp_size", 1);
  s.global_batch = j.value("global_batch", int64_t{0});
  return s;
}

nlohmann::json to_json(const model::T5Config& c) {
  return {{"vocab_size", c.vocab_size},
          {"d_model", c.d_model},
          {"d_kv", c.d_kv},
          {"num_heads", c.num_heads},
          {"d_ff", c.d_ff},
          {"num_encoder_layers", c.num_encoder_layers},
          {"num_decoder_layers", c.num_decoder_layers},
          {"relative_attention_num_buckets", c.relative_attention_num_buckets},
          {"relative_attention_max_distance", c.relative_attention_max_distance},
          {"dropout_rate", c.dropout_rate},
          {"layer_norm_epsilon", c.layer_norm_epsilon},
          {"feed_forward", model::to_string(c.feed_forward)},
          {"tie_word_embeddings", c.tie_word_embeddings},
          {"initializer_factor", c.initializer_factor},
          {"pad_token_id", c.pad_token_id},
          {"eos_token_id", c.eos_token_id},
          {"decoder_start_token_id", c.decoder_start_token_id}};
}

model::T5Config t5_config_from_json(const nlohmann::json& j) {
  model::T5Config c;
  c.vocab_size = j.at("vocab_size");
  c.d_model = j.at("d_model");
  c.d_kv = j.at("d_kv");
  c.num_heads = j.at("num_heads");
  c.d_ff = j.at("d_ff");
  c.num_encoder_layers = j.at("num_encoder_layers");
  c.num_decoder_layers = j.at("num_decoder_layers");
  c.relative_attention_num_buckets = j.at("relative_attention_num_buckets");
  c.relative_attention_max_distance = j.at("relative_attention_max_distance");
  c.dropout_rate = j.at("dropout_rate");
  c.layer_norm_epsilon = j.at("layer_norm_epsilon");
  c.feed_forward = model::parse_feed_forward(j.at("feed_forward").get<std::string>());
  c.tie_word_embeddings = j.at("tie_word_embeddings");
  c.initializer_factor = j.at("initializer_factor");
  c.pad_token_id = j.at("pad_token_id");
  c.eos_token_id = j.at("eos_token_id");
  c.decoder_start_token_id = j.at("decoder_start_token_id");
  return c;
}

namespace {

dist::TensorMap local_parameters(model::T5ModelImpl& model) {
  dist::TensorMap out;
  for (const auto& item : model.named_parameters()) out[item.key()] = item.value().detach();
  return out;
}

void copy_into_model(model::T5ModelImpl& model, const dist::TensorMap& tensors, const std::string& file) {
  torch::NoGradGuard ng;
  for (auto& item : model.named_parameters()) {
    auto it = tensors.find(item.key());
    GENSAR_INPUT_CHECK(it != tensors.end(), "{}: no tensor '{}'", file, item.key());
    GENSAR_INPUT_CHECK(it->second.sizes() == item.value().sizes(), "{}: '{}' has shape {}, model has {}",
                       file, item.key(), c10::str(it->second.sizes()), c10::str(item.value().sizes()));
    item.value().copy_(it->second);
  }
}

}  // namespace

void save_train_checkpoint(dist::CheckpointWriter& writer, const dist::ProcessMesh& mesh,
                           model::T5ModelImpl& model, torch::optim::Optimizer& optimizer,
                           const TrainState& state, const SampleBuilder& builder,
                           const std::map<std::string, std::string>& files) {
  // A diverged model must never replace a good checkpoint: every rank checks its shard and all
  // agree before anything is written (a rank throwing alone would leave the others at a barrier).
  const dist::TensorMap params = local_parameters(model);
  std::string bad;
  for (const auto& [name, t] : params)
    if (bad.empty() && !torch::isfinite(t).all().item<bool>()) bad = name;
  torch::Tensor any_bad = torch::full({1}, bad.empty() ? 0 : 1, torch::kInt);
  mesh.world()->all_reduce(any_bad, dist::ReduceOp::kMax);
  GENSAR_CHECK(any_bad.item<int>() == 0,
               "refusing to checkpoint step {}: parameters are not finite (NaN/inf{})", state.step,
               bad.empty() ? " on another rank" : ", e.g. '" + bad + "'");
  writer.begin(state.step);
  const int tp = mesh.tp_rank(), dp = mesh.dp_rank();
  if (dp == 0) {
    writer.save_tensors(dist::shard_file_name("model", tp, 0), params);
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    dist::save_archive(writer.path(dist::shard_file_name("optim", tp, 0)), archive);
  }
  writer.save_tensors(dist::shard_file_name("rng", tp, dp), {{"dropout", model.dropout_rng().state()}});
  if (mesh.world_rank() == 0) {
    writer.save_json(run_layout::kStateFile, to_json(state));
    writer.save_json(run_layout::kModelConfigFile, to_json(model.config()));
    for (const auto& [name, content] : files) dist::write_file_atomically(writer.path(name), content);
    dist::write_file_atomically(writer.path(run_layout::kTokenizerFile), builder.tokenizer().serialized_model());
    // HDF5 does not report a write that fails at close (a full disk leaves a silently truncated
    // file and a crash in HDF5's exit handler): the file is built in the local temp directory,
    // read back, and copied with checked writes like every other checkpoint file.
    const fs::path local = fs::temp_directory_path() /
                           fmt::format("gensar-identifiers-{}-{}.h5", ::getpid(), state.step);
    struct RemoveLocal {
      fs::path p;
      ~RemoveLocal() { std::error_code ec; fs::remove(p, ec); }
    } remove_local{local};
    rqvae::save_identifiers(local.string(), builder.identifiers());
    GENSAR_CHECK(rqvae::load_identifiers(local.string()).num_items() == builder.identifiers().num_items(),
                 "{}: identifiers did not read back", local.string());
    std::ifstream in(local, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    dist::write_file_atomically(writer.path(run_layout::kIdentifiersFile), bytes);
  }
}

TrainState load_train_checkpoint(const std::string& dir, const dist::ProcessMesh& mesh,
                                 model::T5ModelImpl& model, torch::optim::Optimizer& optimizer) {
  dist::verify_checkpoint(dir);
  TrainState state = train_state_from_json(dist::read_json_file(run_layout::in_dir(dir, run_layout::kStateFile)));
  GENSAR_INPUT_CHECK(state.tp_size == mesh.tp_size(),
                     "{}: checkpoint has TP size {}, this run {}: resume with the same --tp", dir,
                     state.tp_size, mesh.tp_size());
  const int tp = mesh.tp_rank(), dp = mesh.dp_rank();
  const std::string model_file = (fs::path(dir) / dist::shard_file_name("model", tp, 0)).string();
  copy_into_model(model, dist::load_tensors(model_file), model_file);
  const std::string optim_file = (fs::path(dir) / dist::shard_file_name("optim", tp, 0)).string();
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(optim_file);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: cannot load the optimiser state (truncated or corrupt): {}",
                                 optim_file, std::string(e.what()).substr(0, std::string(e.what()).find('\n'))));
  }
  const std::string rng_file = (fs::path(dir) / dist::shard_file_name("rng", tp, dp)).string();
  if (fs::exists(rng_file)) {
    model.dropout_rng().set_state(dist::load_tensors(rng_file).at("dropout"));
  } else {
    GENSAR_WARN("train", "{}: no dropout RNG state for DP rank {} (DP size changed from {}): "
                "dropout streams restart, resume is not bit-exact", dir, dp, state.dp_size);
  }
  return state;
}

void load_checkpoint_weights(const std::string& dir, model::T5ModelImpl& model, int tp_rank,
                             int tp_size) {
  dist::verify_checkpoint(dir);
  TrainState state = train_state_from_json(dist::read_json_file(run_layout::in_dir(dir, run_layout::kStateFile)));
  if (state.tp_size == tp_size) {
    const std::string f = (fs::path(dir) / dist::shard_file_name("model", tp_rank, 0)).string();
    copy_into_model(model, dist::load_tensors(f), f);
    return;
  }
  GENSAR_INPUT_CHECK(tp_size == 1, "{}: checkpoint has TP size {}; load it with TP {} or 1", dir,
                     state.tp_size, state.tp_size);
  std::vector<dist::TensorMap> shards;
  for (int r = 0; r < state.tp_size; ++r)
    shards.push_back(dist::load_tensors((fs::path(dir) / dist::shard_file_name("model", r, 0)).string()));
  // The model says how each of its parameters is split; tensors it does not have are ignored.
  dist::TensorMap full;
  for (const auto& [name, dim] : model.partition_dims()) {
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < state.tp_size; ++r) {
      auto it = shards[r].find(name);
      GENSAR_INPUT_CHECK(it != shards[r].end(), "{}: TP shard {} has no tensor '{}'", dir, r, name);
      parts.push_back(it->second);
    }
    full[name] = dim == tp::kReplicated ? parts[0] : torch::cat(parts, dim);
  }
  copy_into_model(model, full, dir);
}

}  // namespace gensar::train
