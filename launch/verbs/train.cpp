// gensar train: the GenSAR T5 model on the six multi-task samples, data x tensor parallel under
// mpirun/srun, with validation, best/last checkpoints and exact resume. See docs/training.md.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/check.h"
#include "core/common/log.h"
#include "core/common/read_file.h"
#include "core/eval/validation.h"
#include "core/model/hf_t5.h"
#include "core/train/run_layout.h"
#include "core/train/run_setup.h"
#include "core/train/trainer.h"
#include "distributed/checkpoint_io.h"
#include "distributed/process_mesh.h"
#include "distributed/stop_signal.h"
#include "distributed/watchdog.h"
#include "launch/distributed_options.h"
#include "launch/ranged_option.h"
#include "launch/verbs.h"

namespace fs = std::filesystem;

namespace gensar::launch {

namespace {

// A fresh run into a directory that holds another run (a pipeline rerun after its [train] changed,
// or --out reused without --resume) would append to that run's metrics.jsonl and mix checkpoints
// of two runs. The old run is kept whole, renamed OUT.replaced-N, and the new one starts empty.
void move_aside_previous_run(const std::string& out) {
  fs::path dir = fs::path(out).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" names runs/x
  if (!fs::exists(dir / train::run_layout::kMetricsFile) &&
      !fs::exists(dir / train::run_layout::kCheckpointsDir))
    return;
  fs::path aside;
  for (int n = 1;; ++n) {
    aside = dir.string() + ".replaced-" + std::to_string(n);
    if (!fs::exists(aside)) break;
  }
  fs::rename(dir, aside);
  GENSAR_WARN("train", "{} held an earlier run and this one starts fresh: moved it to {}", out,
              aside.string());
}

// Where everything went, for people (lines) or scripts (--json: one JSON object on stdout).
void print_summary(const po::variables_map& vm, const train::Trainer& trainer,
                   train::TrainStatus status, int exit_code) {
  const fs::path out = fs::absolute(vm["out"].as<std::string>()).lexically_normal();
  const fs::path checkpoints = train::run_layout::checkpoints_dir(out.string());
  const auto latest = dist::find_latest_checkpoint(checkpoints.string());
  const auto best = dist::find_best_checkpoint(checkpoints.string());
  const char* state = status == train::TrainStatus::kStopRequested ? "stopped"
                      : status == train::TrainStatus::kEarlyStopped ? "early-stopped"
                                                                     : "finished";
  if (vm["json"].as<bool>()) {
    nlohmann::json j = {{"out", out.string()},
                        {"status", state},
                        {"exit_code", exit_code},
                        {"step", trainer.step()},
                        {"consumed_samples", trainer.consumed_samples()},
                        {"best_score", trainer.best_metric()},
                        {"metrics", train::run_layout::metrics_path(out.string())},
                        {"config", (out / train::run_layout::kConfigFile).string()},
                        {"checkpoints", checkpoints.string()},
                        {"latest", latest ? nlohmann::json(latest->path) : nlohmann::json(nullptr)},
                        {"best", best ? nlohmann::json(best->path) : nlohmann::json(nullptr)}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s: step %lld, %lld samples consumed, best validation score %.4f%s\n",
                out.string().c_str(), static_cast<long long>(trainer.step()),
                static_cast<long long>(trainer.consumed_samples()), trainer.best_metric(),
                status == train::TrainStatus::kEarlyStopped ? " (early stop)"
                : status == train::TrainStatus::kStopRequested ? " (stopped by a signal: resume with --resume)"
                                                                : "");
    std::printf("metrics:     %s\n", train::run_layout::metrics_path(out.string()).c_str());
    std::printf("checkpoints: %s (latest %s, best %s)\n", checkpoints.string().c_str(),
                latest ? fs::path(latest->path).filename().string().c_str() : "none",
                best ? fs::path(best->path).filename().string().c_str() : "none");
  }
  std::fflush(stdout);
}

}  // namespace

int run_train(const po::variables_map& vm) {
  const DistributedOptions dopts = apply_distributed_options(vm);
  const int threads = vm["threads"].as<int>();
  if (threads > 0) torch::set_num_threads(threads);
  auto mesh = std::make_shared<dist::ProcessMesh>(dist::world(), dist::MeshOptions{dopts.tp_size, dopts.device});
  GENSAR_INPUT_CHECK(dopts.device == "cpu", "--device {}: the trainer runs on CPU in this build",
                     dopts.device);

  train::RunInputs in;
  in.dataset_dir = vm["dataset"].as<std::string>();
  in.identifiers_path = vm["identifiers"].as<std::string>();
  in.prompts_path = vm["prompts"].as<std::string>();
  if (in.prompts_path.empty()) in.prompts_path = train::default_prompts_path();
  in.spm_model = vm["spm-model"].as<std::string>();
  in.tokenizer.vocab_size = vm["vocab-size"].as<int>();
  in.samples.history_rec = vm["history-rec"].as<int>();
  in.samples.history_search = vm["history-search"].as<int>();
  in.samples.max_input_len = vm["max-input-len"].as<int>();
  in.samples.max_text_len = vm["max-text-len"].as<int>();
  in.samples.max_query_len = vm["max-query-len"].as<int>();
  in.samples.neutral_prompt = vm["neutral-prompt"].as<bool>();
  in.samples.pseudo_query = vm["pseudo-query"].as<std::string>();
  in.samples.id_softmax = train::parse_id_softmax(vm["id-softmax"].as<std::string>());

  const std::string out = vm["out"].as<std::string>();
  const bool resume = vm["resume"].as<bool>();
  // A resumed run takes the tokenizer from its checkpoint (a retrained one would be identical, but
  // loading is cheaper and also covers --spm-model files that moved).
  const std::optional<dist::CheckpointRef> resume_from =
      train::run_layout::checkpoint_to_resume(out, resume);
  if (resume_from) {
    in.spm_model_bytes = read_file((fs::path(resume_from->path) / train::run_layout::kTokenizerFile).string());
  } else if (mesh->world_size() > 1) {
    // Train the tokenizer once (rank 0) and share its bytes so every rank has the same vocabulary.
    dist::StopExitsScope stoppable("tokenizer training");
    std::string bytes;
    if (mesh->world_rank() == 0) {
      data::Dataset ds(in.dataset_dir);
      bytes = in.spm_model.empty() ? train::Tokenizer::train(train::tokenizer_corpus(ds), in.tokenizer)
                                         .serialized_model()
                                   : read_file(in.spm_model);
    }
    dist::LongPhaseWait waiting("rank 0 training the tokenizer");
    in.spm_model_bytes = mesh->world()->broadcast_bytes(bytes, 0);
  }
  // Single rank: the tokenizer is trained here; with either, the sample lists are built here.
  std::optional<dist::StopExitsScope> stoppable;
  stoppable.emplace("tokenizer training and sample building");
  train::RunPieces pieces = train::assemble_run(in);
  stoppable.reset();

  model::T5Config config = train::model_config_for(vm["preset"].as<std::string>(), *pieces.tokenizer,
                                                   vm["dropout"].as<double>(), mesh->tp_size());
  const uint64_t seed = vm["seed"].as<uint64_t>();
  model::T5Model model(config, mesh->tp_size() > 1 ? mesh->tp() : nullptr, seed);
  const std::string init_hf = vm["init-hf"].as<std::string>();
  if (!init_hf.empty() && !resume) {
    auto summary = model::load_hf_t5(*model, init_hf, seed);
    GENSAR_INFO("train", "initialised from {}: {} tensors, {} pretrained rows + {} new token rows",
                init_hf, summary.tensors_loaded, summary.pretrained_vocab, summary.appended_rows);
  }

  train::TrainerOptions o;
  o.out = out;
  o.epochs = vm["epochs"].as<int64_t>();
  o.max_steps = vm["max-steps"].as<int64_t>();
  o.batch_size = vm["batch-size"].as<int64_t>();
  o.grad_accum = vm["grad-accum"].as<int64_t>();
  o.lr = vm["lr"].as<double>();
  o.warmup_ratio = vm["warmup-ratio"].as<double>();
  o.weight_decay = vm["weight-decay"].as<double>();
  o.clip = vm["clip"].as<double>();
  o.label_smoothing = vm["label-smoothing"].as<double>();
  o.seed = seed;
  const std::string tasks = vm["tasks"].as<std::string>();
  // Counts first, then --tasks: a task that --tasks leaves out stays off even when a config's
  // --samples-per-task names it (the ablation configs rely on this).
  o.mix.set_counts(vm["samples-per-task"].as<std::string>());
  o.mix.rec_history_crop = vm["rec-history-crop"].as<double>();
  if (!tasks.empty()) o.mix.enable_only(tasks);
  o.valid_every = vm["valid-every"].as<int64_t>();
  o.patience = vm["patience"].as<int>();
  o.keep_last = dopts.keep_checkpoints;
  o.save_every = vm["save-every"].as<int64_t>();
  o.skip_nonfinite = vm["skip-nonfinite"].as<int64_t>();
  o.log_every = vm["log-every"].as<int64_t>();
  o.bucket_cap_mb = dopts.bucket_cap_mb;
  o.check_replicas_every = dopts.check_replicas_every;
  o.bucket_window = vm["bucket-window"].as<int64_t>();
  o.resume = resume;
  const std::string config_ini = dump_config(*find_verb("train"), vm);
  o.checkpoint_files = {{train::run_layout::kConfigFile, config_ini},
                       {train::run_layout::kPromptsFile, read_file(in.prompts_path)}};
  if (mesh->world_rank() == 0) {
    if (!resume_from) move_aside_previous_run(out);
    fs::create_directories(out);
    dist::write_file_atomically((fs::path(out) / train::run_layout::kConfigFile).string(), config_ini);
  }
  mesh->world()->barrier();  // no rank touches OUT before the previous run has moved out of it

  std::shared_ptr<data::EvalCandidates> candidates;
  if (fs::exists(fs::path(in.dataset_dir) / "candidates.h5"))
    candidates = std::make_shared<data::EvalCandidates>(data::load_eval_candidates(in.dataset_dir));
  else
    GENSAR_WARN("train", "{} has no candidates.h5: validation ranks the whole catalogue", in.dataset_dir);

  eval::ValidationOptions vo;
  vo.max_cases = vm["valid-cases"].as<int64_t>();
  vo.beams = vm["beams"].as<int>();
  vo.batch_size = vm["valid-batch-size"].as<int>();
  vo.stop_group = mesh->tp();
  train::Trainer trainer(o, pieces.builder, model, mesh,
                         eval::validation_hook(model, pieces.builder, candidates, vo, mesh->dp()));
  trainer.maybe_resume();
  const train::TrainStatus status = trainer.run();
  const int exit_code = status == train::TrainStatus::kStopRequested ? dist::kExitRequeue : 0;
  if (mesh->world_rank() == 0) print_summary(vm, trainer, status, exit_code);
  return exit_code;
}

void add_train_options(po::options_description& d) {
  d.add_options()
      ("dataset", po::value<std::string>()->required(), "ingested dataset directory")
      ("identifiers", po::value<std::string>()->required(), "identifiers.h5 from `gensar index`")
      ("out", po::value<std::string>()->required(), "run directory (checkpoints/, metrics.jsonl)")
      ("preset", po::value<std::string>()->default_value("tiger"), "model size: tiger | t5-small, optionally with overrides, e.g. tiger:d_ff=512,heads=4,d_kv=32,encoder_layers=2,decoder_layers=2")
      ("init-hf", po::value<std::string>()->default_value(""),
       "initialise from a Hugging Face T5 safetensors file (new token rows are drawn)")
      ("spm-model", po::value<std::string>()->default_value(""),
       "SentencePiece model to use (e.g. T5's spiece.model) instead of training one")
      ("vocab-size", ranged<int>(1)->default_value(8000),
       "SentencePiece pieces when training the tokenizer on item text and queries")
      ("prompts", po::value<std::string>()->default_value(""),
       "prompt template file (default: configs/prompts.txt of the source tree)")
      ("epochs", ranged<int64_t>(0)->default_value(1), "passes over the per-epoch sample list")
      ("max-steps", ranged<int64_t>(0)->default_value(0),
       "optimiser steps (0 = from --epochs); also sizes the LR schedule")
      ("batch-size", ranged<int64_t>(1)->default_value(64), "micro-batch per data-parallel rank")
      ("grad-accum", ranged<int64_t>(1)->default_value(1), "micro-batches per optimiser step")
      ("bucket-window", ranged<int64_t>(0)->default_value(50),
       "global batches sorted by input length together, so batches pad little (0 = off; "
       "docs/training.md)")
      ("lr", ranged<double>(0.0)->default_value(1e-3), "peak AdamW learning rate")
      ("warmup-ratio", ranged<double>(0.0, 1.0)->default_value(0.01), "share of steps in linear warm-up")
      ("weight-decay", ranged<double>(0.0)->default_value(1e-7), "AdamW weight decay (not on norms)")
      ("clip", ranged<double>(0.0)->default_value(1.0), "global gradient-norm clip (0 = off)")
      ("label-smoothing", ranged<double>(0.0, 0.99)->default_value(0.0),
       "share of each target token spread evenly over its softmax's support (the trie children "
       "under --id-softmax catalogue, else the vocabulary; docs/training.md)")
      ("dropout", ranged<double>(0.0, 0.99)->default_value(0.1), "dropout rate")
      ("seed", ranged<uint64_t>(0)->default_value(2024),
       "initialisation, sample lists, order, templates and dropout")
      ("history-rec", ranged<int>(0, 1000)->default_value(5), "rec clicks in the history (N)")
      ("history-search", ranged<int>(0, 1000)->default_value(5), "search sessions in the history (M)")
      ("rec-history-crop", ranged<double>(0.0, 1.0)->default_value(0.0),
       "share of rec training examples that keep only their last k history entries, k uniform in "
       "1 .. N + M - 1, drawn anew each epoch (0 = off; docs/training.md)")
      ("max-input-len", ranged<int>(8)->default_value(256),
       "input tokens (oldest history dropped first)")
      ("max-text-len", ranged<int>(1)->default_value(256),
       "tokens of an item's text (title, description, categories, brand)")
      ("max-query-len", ranged<int>(1)->default_value(32), "tokens of a query")
      ("pseudo-query", po::value<std::string>()->default_value("own-queries"),
       "query_item task input: own-queries | category-words")
      ("id-softmax", po::value<std::string>()->default_value("vocabulary"),
       "identifier tokens normalised over the vocabulary (the paper) or over the catalogue trie's "
       "children (catalogue; training and scoring alike): core/train/identifier_softmax.h")
      ("tasks", po::value<std::string>()->default_value(""),
       "tasks to train, comma-separated (default all: rec,search,next_query,query_item,"
       "text_to_id,id_to_text)")
      ("samples-per-task", po::value<std::string>()->default_value(""),
       "per-epoch counts, e.g. search=100000,next_query=1000 (-1 = all)")
      ("neutral-prompt", po::bool_switch()->default_value(false),
       "ablation: the single [neutral] template for every task")
      ("valid-every", ranged<int64_t>(-1)->default_value(0),
       "validate every N steps (0 = once per epoch, -1 = never)")
      ("valid-cases", ranged<int64_t>(0)->default_value(0),
       "validation cases per task (0 = all)")
      ("valid-batch-size", ranged<int>(1)->default_value(16), "validation cases decoded together")
      ("beams", ranged<int>(1)->default_value(30), "beam size of validation decoding")
      ("patience", ranged<int>(0)->default_value(0),
       "stop after N validations without improvement (0 = off)")
      ("save-every", ranged<int64_t>(0)->default_value(0),
       "also checkpoint every N steps (0 = at validations and at the end)")
      ("skip-nonfinite", ranged<int64_t>(0)->default_value(0),
       "steps with a NaN/inf loss or gradient norm to skip (no update) before the run stops "
       "with an error; 0 = stop at the first")
      ("log-every", ranged<int64_t>(1)->default_value(20), "steps between log lines (no terminal)")
      ("resume", po::bool_switch()->default_value(false),
       "continue from the run directory's latest checkpoint (exactly)")
      ("threads", ranged<int>(0)->default_value(0), "intra-op threads (0 = LibTorch default)")
      ("json", po::bool_switch()->default_value(false),
       "print the summary (status, step, where metrics and checkpoints went) as JSON");
  add_distributed_options(d);
}

}  // namespace gensar::launch
