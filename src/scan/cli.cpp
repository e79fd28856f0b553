// `hubgate scan PATH...`: scan files and folders (recursively), print a report, exit with the
// verdict: 0 all safe, 1 something dangerous (with --strict: or suspicious), 2 something could
// not be scanned (and nothing dangerous). Each file is mapped read-only and scanned in memory.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "scan/report_format.hpp"
#include "scan/scan.hpp"

namespace hubgate {

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: hubgate scan [--format text|json|sarif] [--strict] [--output FILE] PATH...\n"
      "Scan model files (pickle, PyTorch, NumPy, joblib, zip, ...) for code execution and format abuse.\n"
      "Folders are scanned recursively. Exit status: 0 all safe, 1 dangerous found (with --strict,\n"
      "suspicious too), 2 a file could not be scanned or bad usage.\n",
      out);
}

}  // namespace

int scan_main(int argc, char** argv) {
  std::string format = "text";
  std::string output;
  bool strict = false;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--strict") {
      strict = true;
    } else if ((a == "--format" || a == "-f") && i + 1 < argc) {
      format = argv[++i];
    } else if (a.starts_with("--format=")) {
      format = std::string(a.substr(9));
    } else if ((a == "--output" || a == "-o") && i + 1 < argc) {
      output = argv[++i];
    } else if (a == "--") {
      for (++i; i < argc; ++i) paths.emplace_back(argv[i]);
    } else if (a.starts_with("-") && a.size() > 1) {
      std::fprintf(stderr, "hubgate scan: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      paths.emplace_back(a);
    }
  }
  if (format != "text" && format != "json" && format != "sarif") {
    std::fprintf(stderr, "hubgate scan: --format must be text, json or sarif\n");
    return 2;
  }
  if (paths.empty()) {
    usage(stderr);
    return 2;
  }
  std::vector<scan::Report> reports;
  for (const auto& p : paths) {
    std::error_code ec;
    auto st = std::filesystem::status(p, ec);
    if (ec || !std::filesystem::exists(st)) {
      scan::Report r;
      r.file = p;
      r.error = Error(Errc::not_found, p + ": no such file or directory");
      reports.push_back(std::move(r));
      continue;
    }
    if (std::filesystem::is_directory(st)) {
      std::vector<std::string> files;
      std::filesystem::recursive_directory_iterator it(p, std::filesystem::directory_options::skip_permission_denied, ec);
      for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) files.push_back(it->path().string());
      }
      if (ec) {
        scan::Report r;
        r.file = p;
        r.error = Error(Errc::io, p + ": " + ec.message());
        reports.push_back(std::move(r));
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) reports.push_back(scan::scan_file(f));
    } else {
      reports.push_back(scan::scan_file(p));
    }
  }
  std::string text = format == "json" ? scan::render_json(reports)
                     : format == "sarif" ? scan::render_sarif(reports)
                                         : scan::render_text(reports);
  if (output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::FILE* f = std::fopen(output.c_str(), "wb");
    if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "hubgate scan: cannot write %s\n", output.c_str());
      return 2;
    }
  }
  bool dangerous = false, suspicious = false, errors = false;
  for (const auto& r : reports) {
    if (r.error) errors = true;
    dangerous = dangerous || r.verdict() == scan::Severity::dangerous;
    suspicious = suspicious || r.verdict() == scan::Severity::suspicious;
  }
  if (dangerous || (strict && suspicious)) return 1;
  if (errors) return 2;
  return 0;
}

}  // namespace hubgate
