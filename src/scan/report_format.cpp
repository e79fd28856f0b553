// Report rendering (see report_format.hpp). SARIF: one run, tool.driver.rules lists every rule id
// that occurs, each finding is a result with level error (dangerous) / warning (suspicious), a
// physical location (file uri + byteOffset when the finding is at top level) and a logical
// location naming the member path inside containers.
#include "scan/report_format.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace hubgate::scan {
namespace {

using nlohmann::json;

std::string where(const Finding& f) {
  std::string w = f.member.empty() ? "" : f.member;
  if (f.offset) w += (w.empty() ? "offset " : " @ ") + std::to_string(*f.offset);
  return w;
}

json finding_json(const Finding& f) {
  json j = {{"severity", severity_name(f.severity)}, {"rule", f.rule}, {"file", f.file}, {"member", f.member},
            {"subject", f.subject}, {"message", f.message}};
  j["offset"] = f.offset ? json(*f.offset) : json(nullptr);
  return j;
}

const char* safety_name(Severity s) {
  switch (s) {
    case Severity::safe: return "innocuous";
    case Severity::suspicious: return "suspicious";
    case Severity::dangerous: return "dangerous";
  }
  return "suspicious";
}

json status_json(const Report& r) {
  json imports = json::array();
  Severity highest = Severity::safe;
  for (const auto& im : r.imports) {
    imports.push_back({{"module", im.module}, {"name", im.name}, {"safety", safety_name(im.safety)}});
    highest = std::max(highest, im.safety);
  }
  json st = {{"status", r.error ? "unscanned" : safety_name(r.verdict()) == std::string("innocuous") ? "safe"
                                                                                                      : severity_name(r.verdict())},
             {"avScan", {{"virusFound", false}, {"virusNames", nullptr}}}};
  // huggingface_hub indexes all three keys: a file without pickle imports gets null.
  st["pickleImportScan"] = r.imports.empty() ? json(nullptr)
                                             : json{{"highestSafetyLevel", safety_name(highest)}, {"imports", imports}};
  return st;
}

}  // namespace

std::string security_file_status_json(const Report& r) { return status_json(r).dump(-1, ' ', false, json::error_handler_t::replace); }

std::string render_text(const std::vector<Report>& reports) {
  std::string out;
  std::size_t counts[3] = {0, 0, 0};
  std::size_t errors = 0;
  for (const auto& r : reports) {
    if (r.error) {
      ++errors;
      out += r.file + ": ERROR: " + r.error->message + "\n";
      continue;
    }
    Severity v = r.verdict();
    ++counts[static_cast<int>(v)];
    out += r.file + ": " + severity_name(v) + " (" + format_name(r.format) + ")\n";
    for (const auto& f : r.findings) {
      out += "  [" + std::string(severity_name(f.severity)) + "] " + f.rule;
      if (!f.subject.empty()) out += " " + f.subject;
      std::string w = where(f);
      if (!w.empty()) out += " (" + w + ")";
      out += ": " + f.message + "\n";
    }
  }
  out += "\n" + std::to_string(reports.size()) + " file(s): " + std::to_string(counts[0]) + " safe, " +
         std::to_string(counts[1]) + " suspicious, " + std::to_string(counts[2]) + " dangerous, " +
         std::to_string(errors) + " not scanned\n";
  return out;
}

std::string render_json(const std::vector<Report>& reports) {
  json files = json::array();
  for (const auto& r : reports) {
    json fs = json::array();
    for (const auto& f : r.findings) fs.push_back(finding_json(f));
    json j = {{"file", r.file}, {"format", format_name(r.format)}, {"verdict", r.error ? "error" : severity_name(r.verdict())},
              {"findings", fs}, {"securityFileStatus", status_json(r)}};
    j["error"] = r.error ? json(r.error->message) : json(nullptr);
    files.push_back(j);
  }
  return json({{"tool", "hubgate"}, {"files", files}}).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_sarif(const std::vector<Report>& reports) {
  std::set<std::string> rule_ids;
  json results = json::array();
  for (const auto& r : reports) {
    if (r.error) {
      rule_ids.insert("scan.error");
      results.push_back({{"ruleId", "scan.error"}, {"level", "error"}, {"message", {{"text", r.error->message}}},
                         {"locations", json::array({{{"physicalLocation", {{"artifactLocation", {{"uri", r.file}}}}}}})}});
      continue;
    }
    for (const auto& f : r.findings) {
      rule_ids.insert(f.rule);
      json phys = {{"artifactLocation", {{"uri", f.file}}}};
      if (f.offset && f.member.empty()) phys["region"] = {{"byteOffset", *f.offset}};
      json loc = {{"physicalLocation", phys}};
      if (!f.member.empty()) {
        loc["logicalLocations"] = json::array({{{"fullyQualifiedName", f.member +
                                                 (f.offset ? "@" + std::to_string(*f.offset) : std::string())},
                                                {"kind", "member"}}});
      }
      json res = {{"ruleId", f.rule},
                  {"level", f.severity == Severity::dangerous ? "error" : f.severity == Severity::suspicious ? "warning" : "note"},
                  {"message", {{"text", f.message}}},
                  {"locations", json::array({loc})},
                  {"properties", {{"severity", severity_name(f.severity)}, {"subject", f.subject}, {"member", f.member}}}};
      results.push_back(res);
    }
  }
  json rules = json::array();
  for (const auto& id : rule_ids) {
    rules.push_back({{"id", id}, {"shortDescription", {{"text", id}}},
                     {"helpUri", "docs/scan-rules.md"}});
  }
  json sarif = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                {"version", "2.1.0"},
                {"runs", json::array({{{"tool", {{"driver", {{"name", "hubgate"}, {"version", "0.1.0"},
                                                              {"informationUri", "https://github.com/hubgate/hubgate"},
                                                              {"rules", rules}}}}},
                                       {"results", results}}})}};
  return sarif.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace hubgate::scan
