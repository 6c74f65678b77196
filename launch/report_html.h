// `gensar report --html`: one self-contained page (inline SVG and CSS, no script, nothing fetched)
// rendered from the report's document, so a page can be mailed, archived or opened offline.
//
// The document is the JSON `gensar report --json` prints plus:
//   "inputs": [the DIRs given], "test": "<name of the significance test>",
//   "protocol_order": ["candidates", "full", ...],
//   "curves": [{"system", "file", "train": [{"step", "samples", "loss", "task_loss": {task: x}}],
//               "validation": [{"step", "samples", "score", "metrics": {"rec.ndcg@5": x, ...}}]}],
//   "identifiers": [{"systems": [labels], "file", "report": <identifiers.report.json>}]
// docs/operations.md ("Reading the report") describes what the page shows.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace gensar::launch {

std::string render_report_html(const nlohmann::json& doc);

}  // namespace gensar::launch
