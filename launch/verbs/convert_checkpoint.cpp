// gensar convert-checkpoint: re-shards a training checkpoint to another TP size, or packs it into
// one file for inference (docs/distributed.md, "Converting checkpoints").
#include <filesystem>

#include "core/common/check.h"
#include "core/common/strings.h"
#include "core/train/checkpoint_convert.h"
#include "core/train/run_loader.h"
#include "launch/verbs.h"

namespace gensar::launch {

void add_convert_checkpoint_options(po::options_description& d) {
  d.add_options()
      ("in", po::value<std::string>()->required(),
       "run directory, checkpoint directory (step-N) or single-file model")
      ("which", po::value<std::string>()->default_value("best"),
       "for a run directory: best (falls back to latest) | latest")
      ("out", po::value<std::string>()->default_value(""),
       "new checkpoint directory to write (must not exist)")
      ("tp", po::value<int>()->default_value(1), "TP size of the --out checkpoint")
      ("average-with", po::value<std::string>()->default_value(""),
       "comma-separated checkpoint directories of the same run: --out holds the mean of their "
       "parameters and --in's (checkpoint averaging)")
      ("single-file", po::value<std::string>()->default_value(""),
       "also/instead write the full model, config, tokenizer and identifiers into this one file");
}

int run_convert_checkpoint(const po::variables_map& vm) {
  const std::string in = vm["in"].as<std::string>();
  const std::string out = vm["out"].as<std::string>();
  const std::string single = vm["single-file"].as<std::string>();
  GENSAR_INPUT_CHECK(!out.empty() || !single.empty(), "convert-checkpoint: give --out and/or --single-file");
  GENSAR_INPUT_CHECK(std::filesystem::exists(in), "--in {}: no such file or directory", in);
  const bool in_is_dir = std::filesystem::is_directory(in);
  const std::string source = in_is_dir ? train::resolve_checkpoint_dir(in, vm["which"].as<std::string>()) : in;
  std::vector<std::string> average_with;
  for (const auto& path : split_list(vm["average-with"].as<std::string>())) {
    GENSAR_INPUT_CHECK(std::filesystem::exists(path), "--average-with {}: no such file or directory", path);
    average_with.push_back(path);
  }
  GENSAR_INPUT_CHECK(average_with.empty() || !out.empty(), "--average-with needs --out");
  if (!out.empty()) train::convert_checkpoint(source, out, vm["tp"].as<int>(), average_with);
  if (!single.empty()) {
    GENSAR_INPUT_CHECK(in_is_dir, "--single-file: --in {} is already a single-file model", in);
    train::write_single_file_model(source, single);
  }
  return 0;
}

}  // namespace gensar::launch
