// Rendering of scan reports: human-readable text, JSON (with the Hub's securityFileStatus
// shape per file), SARIF 2.1.0. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "scan/scan.hpp"

namespace hubgate::scan {

std::string render_text(const std::vector<Report>& reports);
std::string render_json(const std::vector<Report>& reports);
std::string render_sarif(const std::vector<Report>& reports);

// The Hub's per-file `securityFileStatus` object for one report, as JSON text.
std::string security_file_status_json(const Report& r);

}  // namespace hubgate::scan
