// ClamAV integration: one engine per database directory, loaded with the standard options and
// compiled; scans run over memory maps (cl_fmap_open_memory) in all-match mode so every
// signature name is reported. A directory without any signature file means "no database".
#include "scan/clamav.hpp"

#include <clamav.h>

#include <filesystem>
#include <mutex>

namespace hubgate::scan {
namespace {

bool is_signature_file(const std::filesystem::path& p) {
  static const char* exts[] = {".cvd", ".cld", ".cud", ".hdb", ".hsb", ".ndb", ".ldb", ".mdb",
                               ".msb", ".cdb", ".yar", ".yara", ".ign2", ".fp", ".sfp"};
  std::string e = p.extension().string();
  for (const char* x : exts) {
    if (e == x) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<Clamav>> Clamav::open(std::string db_dir) {
  static std::once_flag once;
  static cl_error_t init_rc = CL_SUCCESS;
  std::call_once(once, [] {
    // libclamav prints to stderr by default; its errors reach callers as return codes instead.
    cl_set_clcb_msg([](enum cl_msg, const char*, const char*, void*) {});
    init_rc = cl_init(CL_INIT_DEFAULT);
  });
  if (init_rc != CL_SUCCESS) return fail(Errc::unavailable, std::string("libclamav init: ") + cl_strerror(init_rc));

  std::unique_ptr<Clamav> av(new Clamav());
  if (db_dir.empty()) db_dir = cl_retdbdir();
  std::error_code ec;
  bool any = false;
  if (std::filesystem::is_directory(db_dir, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(db_dir, ec)) {
      if (e.is_regular_file(ec) && is_signature_file(e.path())) { any = true; break; }
    }
  }
  if (!any) {
    av->reason_ = "no ClamAV signature database in " + db_dir + " (install clamav-freshclam or point to a database)";
    return av;
  }
  cl_engine* engine = cl_engine_new();
  if (!engine) return fail(Errc::internal, "libclamav: cannot create an engine");
  unsigned sigs = 0;
  cl_error_t rc = cl_load(db_dir.c_str(), engine, &sigs, CL_DB_STDOPT);
  if (rc == CL_SUCCESS) rc = cl_engine_compile(engine);
  if (rc != CL_SUCCESS) {
    cl_engine_free(engine);
    return fail(Errc::corrupt, "ClamAV database " + db_dir + ": " + cl_strerror(rc));
  }
  av->engine_ = engine;
  av->signatures_ = sigs;
  return av;
}

Clamav::~Clamav() {
  if (engine_) cl_engine_free(engine_);
}

AvScan Clamav::scan(ByteView data, const std::string& name) const {
  AvScan out;
  if (!engine_) {
    out.note = reason_;
    return out;
  }
  cl_fmap_t* map = cl_fmap_open_memory(data.data(), data.size());
  if (!map) {
    out.note = "libclamav: cannot map the data";
    return out;
  }
  cl_scan_options opts{};
  opts.general = CL_SCAN_GENERAL_ALLMATCHES;
  opts.parse = ~0u;
  const char* virname = nullptr;
  unsigned long scanned = 0;
  cl_error_t rc = cl_scanmap_callback(map, name.empty() ? nullptr : name.c_str(), &virname, &scanned, engine_, &opts, nullptr);
  cl_fmap_close(map);
  if (rc == CL_VIRUS) {
    out.scanned = true;
    out.virus_found = true;
    // In all-match mode virname holds the last match; libclamav reports each through the
    // virus-found callback, which needs engine-wide callbacks; the last name is reported.
    if (virname) out.virus_names.emplace_back(virname);
  } else if (rc == CL_CLEAN) {
    out.scanned = true;
  } else {
    out.note = std::string("libclamav: ") + cl_strerror(rc);
  }
  return out;
}

}  // namespace hubgate::scan
