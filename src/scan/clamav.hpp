// Optional antivirus scanning with ClamAV (Debian's libclamav), for the Hub-compatible
// `securityFileStatus.avScan: {virusFound, virusNames}`.
//
// `Clamav::open` loads a signature database directory once (seconds for the official
// databases); `scan` is then safe to call from several threads at once (a compiled libclamav
// engine is read-only). When no database is installed (no *.cvd/*.cld/signature files in the
// directory), `open` still succeeds with `available() == false` and `unavailable_reason()`
// saying so plainly; `scan` then returns an AvScan with `scanned == false`: absence of a
// database is reported, never treated as a failure or as "clean".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

struct cl_engine;  // libclamav

namespace hubgate::scan {

struct AvScan {
  bool scanned = false;       // false when no signature database was available
  bool virus_found = false;
  std::vector<std::string> virus_names;
  std::string note;           // why not scanned, or libclamav's error
};

class Clamav {
 public:
  // `db_dir` empty: libclamav's default (Debian: /var/lib/clamav). Errors only for a database
  // that is present but cannot be loaded or compiled (Errc::corrupt) or library init failure.
  static Result<std::unique_ptr<Clamav>> open(std::string db_dir = {});
  ~Clamav();
  Clamav(const Clamav&) = delete;
  Clamav& operator=(const Clamav&) = delete;

  bool available() const { return engine_ != nullptr; }
  const std::string& unavailable_reason() const { return reason_; }
  unsigned signatures() const { return signatures_; }

  AvScan scan(ByteView data, const std::string& name = {}) const;

 private:
  Clamav() = default;
  ::cl_engine* engine_ = nullptr;
  std::string reason_;
  unsigned signatures_ = 0;
};

}  // namespace hubgate::scan
