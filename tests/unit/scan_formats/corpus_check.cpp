// Corpus check for the format validators: scans every file the tests/scan/corpus/gen_*.py
// generators wrote (through scan_bytes, i.e. content detection + dispatch, as the gate does) and
// asserts that each benign/ file is safe with no finding, that each malicious/ file named
// `<rule>__<what>.<ext>` is dangerous with a finding of that rule, and that each suspicious/ file
// (rules that are suspicious by design) has a finding of its rule and is not safe.
// Usage: scan_formats_corpus_check DIR   (prints one line per failure and "N passed, N failed")
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/scan.hpp"

namespace fs = std::filesystem;
using namespace hubgate::scan;

namespace {

std::string dump(const Report& r) {
  std::string out;
  for (const auto& f : r.findings) {
    out += std::string("    ") + severity_name(f.severity) + " " + f.rule + " [" + f.member + "] " + f.message + "\n";
  }
  return out.empty() ? "    (no findings; format " + std::string(format_name(r.format)) + ")\n" : out;
}

Report scan(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  return scan_bytes(hubgate::as_bytes(bytes), p.filename().string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  fs::path dir = argv[1];
  int passed = 0, failed = 0;
  for (const char* kind : {"benign", "malicious", "suspicious"}) {
    std::vector<fs::path> files;
    if (!fs::is_directory(dir / kind)) {
      std::printf("FAIL: no %s/ folder\n", kind);
      ++failed;
      continue;
    }
    for (const auto& e : fs::directory_iterator(dir / kind)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      Report r = scan(p);
      std::string name = p.filename().string();
      bool ok;
      std::string why;
      if (std::string(kind) == "benign") {
        ok = r.findings.empty() && !r.error;
        why = "expected no finding";
      } else {
        std::string rule = name.substr(0, name.find("__"));
        bool found = false;
        for (const auto& f : r.findings) found |= f.rule == rule;
        bool dangerous = std::string(kind) == "malicious";
        ok = found && (dangerous ? r.verdict() == Severity::dangerous : r.verdict() != Severity::safe);
        why = "expected rule " + rule + (dangerous ? " and a dangerous verdict" : "");
      }
      if (ok) {
        ++passed;
      } else {
        ++failed;
        std::printf("FAIL %s/%s: %s, got:\n%s", kind, name.c_str(), why.c_str(), dump(r).c_str());
      }
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
