// `gensar stats`: a dataset's figures as JSON (keys in docs/ingest.md): counts, events by kind,
// split sizes per task, and sequence-length percentiles (events per user; rec and search apart).
#pragma once

#include <nlohmann/json.hpp>

#include "data_pipeline/dataset.h"

namespace gensar::data {

nlohmann::ordered_json dataset_stats(const Dataset& dataset);
std::string format_stats(const nlohmann::ordered_json& stats);  // human-readable table

}  // namespace gensar::data
