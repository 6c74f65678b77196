// A tiny T5 checkpoint written through dist::CheckpointWriter in the layout the trainer uses
// (model-tp00-dp000.pt, state.json, model.json and the side files), with no training.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/model/t5_model.h"
#include "core/train/train_checkpoint.h"
#include "distributed/checkpoint_io.h"

namespace gensar::test {

inline model::T5Config tiny_config(bool tied, int64_t vocab = 30) {
  model::T5Config c;
  c.vocab_size = vocab;
  c.d_model = 32;
  c.d_kv = 8;
  c.num_heads = 4;
  c.d_ff = 64;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.dropout_rate = 0.0;
  c.tie_word_embeddings = tied;
  c.feed_forward = tied ? model::FeedForward::kRelu : model::FeedForward::kGatedGelu;
  c.pad_token_id = 0;
  c.eos_token_id = 1;
  c.decoder_start_token_id = 0;
  return c;
}

inline dist::TensorMap parameters_of(model::T5ModelImpl& m) {
  dist::TensorMap out;
  for (const auto& item : m.named_parameters()) out[item.key()] = item.value().detach().clone();
  return out;
}

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes step-7 of a TP 1 run under `root` for a model built from (config, seed); returns its dir.
inline std::string write_tiny_checkpoint(const std::string& root, const model::T5Config& config,
                                         uint64_t seed) {
  auto m = model::T5Model(config, nullptr, seed);
  // One AdamW step so the checkpoint carries a real optimiser state, as the trainer's does.
  torch::optim::AdamW optimizer(m->parameters(), torch::optim::AdamWOptions(1e-3));
  torch::Tensor loss = torch::zeros({});
  for (const auto& p : m->parameters()) loss = loss + p.pow(2).sum();
  loss.backward();
  optimizer.step();
  dist::CheckpointWriter writer(root, dist::single_process_communicator(), 3);
  writer.begin(7);
  writer.save_tensors(dist::shard_file_name("model", 0, 0), parameters_of(*m));
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to(writer.path(dist::shard_file_name("optim", 0, 0)));
  train::TrainState state;
  state.step = 7;
  state.consumed_samples = 56;
  state.global_batch = 8;
  writer.save_json("state.json", train::to_json(state));
  writer.save_json("model.json", train::to_json(config));
  writer.save_tensors(dist::shard_file_name("rng", 0, 0), {{"dropout", m->dropout_rng().state()}});
  std::ofstream(writer.path("config.ini")) << "dataset = /nowhere\nbatch-size = 8\n";
  std::ofstream(writer.path("prompts.txt")) << "rec: {history}\n";
  // Stand-ins for the tokenizer and identifiers: conversion copies them byte for byte.
  std::ofstream(writer.path("tokenizer.model"), std::ios::binary) << std::string("spm\0bytes\xff", 10);
  std::ofstream(writer.path("identifiers.h5"), std::ios::binary) << std::string("\x89HDF\r\n", 6);
  return writer.commit();
}

}  // namespace gensar::test
