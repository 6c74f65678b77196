#include "launch/verbs.h"

namespace gensar::launch {

// In the order `gensar --help` lists them. `gensar report A B C`: Boost maps each position to a
// name, so listing "dirs" many times fills one composing vector.
const std::vector<Verb>& all_verbs() {
  static const std::vector<Verb> verbs = {
      {"info",
       "print build and runtime facts (torch, BLAS, CUDA/NCCL)",
       nullptr, {}, run_info},
      {"index",
       "train the joint RQ-VAE and write item identifiers (identifiers.h5)",
       add_index_options, {}, run_index},
      {"ingest",
       "raw logs -> dataset directory (sharded HDF5 + manifest.json)",
       add_ingest_options, {}, run_ingest},
      {"embed-text",
       "semantic item embeddings from item text (USE-lite, TF-IDF+SVD, or imported from a file)",
       add_embed_text_options, {"dataset"}, run_embed_text_verb},
      {"stats",
       "figures of a dataset directory (counts, splits, sequence lengths)",
       add_stats_options, {"dataset"}, run_stats},
      {"embed-collab",
       "collaborative item embeddings: SASRec trained on the rec sequences, or imported from a file",
       add_embed_collab_options, {"dataset"}, run_embed_collab_verb},
      {"compare",
       "paired significance test per metric between two runs' per-case JSONL results",
       add_compare_options, {"run-a", "run-b"}, run_compare},
      {"eval",
       "HR/NDCG/MRR of a trained run or a baseline on the valid/test split (candidates and/or full ranking)",
       add_eval_options, {}, run_eval},
      {"recommend",
       "top-k recommended items for a user (or a TSV batch of users)",
       add_recommend_options, {}, run_recommend},
      {"search",
       "top-k items for a user's query (or a TSV batch of user<TAB>query)",
       add_search_options, {}, run_search},
      {"train",
       "train the GenSAR T5 model on the multi-task samples (DP x TP, checkpoints, exact resume)",
       add_train_options, {}, run_train},
      {"convert-checkpoint",
       "re-shard a checkpoint to another TP size, or pack it into one file for inference",
       add_convert_checkpoint_options, {}, run_convert_checkpoint},
      {"pipeline",
       "run every stage whose output is missing or stale, then print the metrics table",
       add_pipeline_options, {}, run_pipeline},
      {"sweep",
       "run the pipeline for every variant of a sweep file, sharing identical stages",
       add_sweep_options, {}, run_sweep},
      {"report",
       "tables across runs per protocol: best per column, paired significance vs a reference",
       add_report_options, std::vector<std::string>(64, "dirs"), run_report},
  };
  return verbs;
}

}  // namespace gensar::launch
