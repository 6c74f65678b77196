// The verbs: each launch/verbs/<verb>.cpp defines add_<verb>_options (its flags, which are also its
// config keys) and run_<verb>; launch/verb_table.cpp names and describes them. Add a verb: declare
// its two functions here and list it in the table.
#pragma once

#include <cstdio>
#include <string>

#include "launch/config.h"

namespace gensar::launch {

// How result-printing verbs end: with --json the JSON document (one line), else the table. Only
// the chosen one is built.
template <typename MakeJson, typename MakeTable>
int print_json_or_table(const po::variables_map& vm, MakeJson make_json, MakeTable make_table) {
  const std::string text = vm["json"].as<bool>() ? make_json() + "\n" : make_table();
  std::fputs(text.c_str(), stdout);
  return 0;
}

int run_info(const po::variables_map& vm);
void add_index_options(po::options_description& d);
int run_index(const po::variables_map& vm);
void add_ingest_options(po::options_description& d);
int run_ingest(const po::variables_map& vm);
void add_embed_text_options(po::options_description& d);
int run_embed_text_verb(const po::variables_map& vm);
void add_stats_options(po::options_description& d);
int run_stats(const po::variables_map& vm);
void add_embed_collab_options(po::options_description& d);
int run_embed_collab_verb(const po::variables_map& vm);
void add_compare_options(po::options_description& d);
int run_compare(const po::variables_map& vm);
void add_eval_options(po::options_description& d);
int run_eval(const po::variables_map& vm);
void add_recommend_options(po::options_description& d);
int run_recommend(const po::variables_map& vm);
void add_search_options(po::options_description& d);
int run_search(const po::variables_map& vm);
void add_train_options(po::options_description& d);
int run_train(const po::variables_map& vm);
void add_convert_checkpoint_options(po::options_description& d);
int run_convert_checkpoint(const po::variables_map& vm);
void add_pipeline_options(po::options_description& d);
int run_pipeline(const po::variables_map& vm);
void add_sweep_options(po::options_description& d);
int run_sweep(const po::variables_map& vm);
void add_report_options(po::options_description& d);
int run_report(const po::variables_map& vm);

}  // namespace gensar::launch
