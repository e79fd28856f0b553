// HDF5 (incl. Keras .h5) scanning with Debian's HDF5 C library, opened from memory (file image,
// no copy, read-only). Before the library sees the bytes, the superblock is validated here
// (signature at 0 or a power-of-two userblock offset, version 0..3, offset/length sizes, end of
// file address within the bytes): the library's own parsers have had memory-safety bugs on
// hostile files, so it only gets files whose outer structure is sane, with its error printing
// off and plugin loading disabled, and under one process-wide mutex (the Debian build is not
// thread-safe). A crafted object header deeper inside can still reach a library bug, so the
// library runs in a forked child process: the child scans and writes its findings to a pipe;
// the parent reads them, and a child that dies on a signal or runs past kHdf5Timeout becomes a
// `hdf5.parser-crash` / `hdf5.parser-timeout` finding instead of taking the scanner down. (If
// fork fails, the scan runs in-process.) The fork happens with the HDF5 mutex held, so no other
// thread is inside the library in the child.
//
// Checks: root attributes `model_config` / `training_config` → Keras config rules (keras.cpp);
// every link (H5Lvisit, bounded): external links and user-defined links (they open other
// files), datasets with external raw storage or virtual (VDS) mappings to other files, and
// filters that need dynamically loaded plugins (native code).
#include <hdf5.h>
#include <H5LTpublic.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "scan/formats.hpp"

namespace hubgate::scan {
namespace {

constexpr std::uint64_t kMaxLinks = 200000;
constexpr std::size_t kMaxAttr = 64u << 20;
constexpr std::chrono::seconds kHdf5Timeout{60};

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out + "'";
}

struct Id {
  hid_t id = H5I_INVALID_HID;
  herr_t (*close)(hid_t) = nullptr;
  Id(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() {
    if (id >= 0 && close) close(id);
  }
  explicit operator bool() const { return id >= 0; }
};

std::uint64_t le(ByteView d, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(d[at + i]) << (8 * i);
  return v;
}

// Validates the superblock; empty string when sane, else why not.
std::string check_superblock(ByteView d) {
  static const std::uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  std::size_t at = std::string::npos;
  for (std::size_t off = 0; off + 8 <= d.size(); off = off ? off * 2 : 512) {
    if (std::memcmp(d.data() + off, sig, 8) == 0) { at = off; break; }
  }
  if (at == std::string::npos) return "no HDF5 signature at offset 0 or a power-of-two userblock offset";
  std::size_t p = at + 8;
  if (d.size() < p + 1) return "truncated superblock";
  int version = d[p];
  if (version > 3) return "unknown superblock version " + std::to_string(version);
  int so, sl;
  std::size_t addrs;
  if (version <= 1) {
    if (d.size() < p + 16) return "truncated superblock";
    so = d[p + 5];
    sl = d[p + 6];
    std::uint64_t leaf_k = le(d, p + 8, 2), internal_k = le(d, p + 10, 2);
    if (leaf_k == 0 || internal_k == 0) return "zero B-tree K in superblock";
    addrs = p + 16 + (version == 1 ? 4 : 0);
  } else {
    if (d.size() < p + 4) return "truncated superblock";
    so = d[p + 1];
    sl = d[p + 2];
    addrs = p + 4;
  }
  if ((so != 2 && so != 4 && so != 8) || (sl != 2 && sl != 4 && sl != 8)) {
    return "invalid offset/length sizes " + std::to_string(so) + "/" + std::to_string(sl);
  }
  // base, (free space | extension), EOF addresses.
  if (d.size() < addrs + 3 * static_cast<std::size_t>(so)) return "truncated superblock";
  std::uint64_t base = le(d, addrs, so);
  std::uint64_t eof = le(d, addrs + 2 * so, so);
  const std::uint64_t undef = so == 8 ? ~0ull : (1ull << (8 * so)) - 1;
  if (base == undef || eof == undef) return "undefined base or end-of-file address";
  if (base > d.size() || eof > d.size() - base) {
    return "end-of-file address " + std::to_string(eof) + " lies beyond the " + std::to_string(d.size()) + "-byte file";
  }
  return {};
}

struct Walk {
  Context* ctx;
  hid_t file;
  std::uint64_t links = 0;
  int findings = 0;
  void add(Severity s, const char* rule, std::string subj, std::string msg) {
    if (++findings == 101) ctx->add(Severity::suspicious, "hdf5.too-many-findings", "", "hdf5: more than 100 findings");
    if (findings <= 100) ctx->add(s, rule, std::move(subj), "hdf5: " + std::move(msg));
  }
};

void check_dataset(Walk& w, const char* name) {
  Id ds(H5Dopen2(w.file, name, H5P_DEFAULT), H5Dclose);
  if (!ds) return;
  Id dcpl(H5Dget_create_plist(ds.id), H5Pclose);
  if (!dcpl) return;
  std::string subj = std::string("dataset ") + q(name);
  int ext = H5Pget_external_count(dcpl.id);
  if (ext > 0) {
    char fname[256] = {0};
    off_t off = 0;
    hsize_t size = 0;
    H5Pget_external(dcpl.id, 0, sizeof(fname) - 1, fname, &off, &size);
    w.add(Severity::dangerous, "hdf5.external-storage", subj,
          "dataset " + q(name) + " stores its data in external file " + q(fname) + " (" + std::to_string(ext) + " file(s))");
  }
  if (H5Pget_layout(dcpl.id) == H5D_VIRTUAL) {
    std::size_t n = 0;
    if (H5Pget_virtual_count(dcpl.id, &n) >= 0) {
      for (std::size_t i = 0; i < n && i < 16; ++i) {
        char fname[256] = {0};
        if (H5Pget_virtual_filename(dcpl.id, i, fname, sizeof(fname) - 1) < 0) continue;
        if (std::string_view(fname) != ".") {
          w.add(Severity::dangerous, "hdf5.virtual-dataset", subj,
                "virtual dataset " + q(name) + " maps data from file " + q(fname));
          break;
        }
      }
    }
  }
  int nf = H5Pget_nfilters(dcpl.id);
  for (int i = 0; i < nf && i < 32; ++i) {
    unsigned flags = 0, cfg = 0;
    std::size_t nelem = 0;
    char fname[64] = {0};
    H5Z_filter_t f = H5Pget_filter2(dcpl.id, static_cast<unsigned>(i), &flags, &nelem, nullptr, sizeof(fname) - 1, fname, &cfg);
    if (f < 0) continue;
    if (f > H5Z_FILTER_SCALEOFFSET) {
      w.add(Severity::suspicious, "hdf5.filter-plugin", subj,
            "dataset " + q(name) + " uses filter " + std::to_string(f) + " (" + q(fname) +
                "), which loaders run from a dynamically loaded plugin");
    }
  }
}

herr_t visit_link(hid_t, const char* name, const H5L_info_t* info, void* op) {
  Walk& w = *static_cast<Walk*>(op);
  if (++w.links > kMaxLinks) {
    w.add(Severity::suspicious, "container.limit", "", "more than " + std::to_string(kMaxLinks) + " links; the rest were not scanned");
    return 1;  // stop
  }
  std::string subj = std::string("link ") + q(name);
  if (info->type == H5L_TYPE_EXTERNAL) {
    std::string target = "?";
    if (info->u.val_size > 0 && info->u.val_size < 65536) {
      std::vector<char> buf(info->u.val_size);
      const char* file = nullptr;
      const char* obj = nullptr;
      unsigned flags = 0;
      if (H5Lget_val(w.file, name, buf.data(), buf.size(), H5P_DEFAULT) >= 0 &&
          H5Lunpack_elink_val(buf.data(), buf.size(), &flags, &file, &obj) >= 0 && file && obj) {
        target = std::string(file) + ":" + obj;
      }
    }
    w.add(Severity::dangerous, "hdf5.external-link", subj, "link " + q(name) + " points into another file " + q(target));
  } else if (info->type != H5L_TYPE_HARD && info->type != H5L_TYPE_SOFT) {
    w.add(Severity::suspicious, "hdf5.user-link", subj,
          "link " + q(name) + " has user-defined link class " + std::to_string(static_cast<int>(info->type)));
  } else if (info->type == H5L_TYPE_HARD) {
    H5O_info_t oi;
    if (H5Oget_info_by_name2(w.file, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET) {
      check_dataset(w, name);
    }
  }
  return 0;
}

// Reads a string attribute of the root group in every form h5py and Keras 1/2/3 write: fixed-
// length (NUL-terminated, NUL- or space-padded) or variable-length strings, ASCII or UTF-8, a
// scalar or an array (each element is returned). Fixed-length values lose trailing NULs only,
// as numpy's bytes_ does. nullopt with `why` set when the attribute exists but is not readable
// as strings; nullopt with `why` empty when it does not exist.
std::optional<std::vector<std::string>> read_string_attr(hid_t file, const char* name, std::string& why) {
  if (H5Aexists(file, name) <= 0) return std::nullopt;
  Id attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr) { why = "cannot be opened"; return std::nullopt; }
  Id type(H5Aget_type(attr.id), H5Tclose);
  Id space(H5Aget_space(attr.id), H5Sclose);
  if (!type || !space) { why = "has no readable type"; return std::nullopt; }
  hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n < 1 || n > 4096) { why = "holds " + std::to_string(n) + " values"; return std::nullopt; }
  if (H5Tget_class(type.id) != H5T_STRING) { why = "is not a string"; return std::nullopt; }
  std::size_t count = static_cast<std::size_t>(n);
  std::vector<std::string> out;
  H5T_cset_t cset = H5Tget_cset(type.id);
  if (H5Tis_variable_str(type.id) > 0) {
    // The memory type keeps the file's character set: HDF5 does not convert ASCII <-> UTF-8.
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.id, H5T_VARIABLE);
    if (cset != H5T_CSET_ERROR) H5Tset_cset(mem.id, cset);
    std::vector<char*> ptrs(count, nullptr);
    if (H5Aread(attr.id, mem.id, ptrs.data()) < 0) { why = "cannot be read"; return std::nullopt; }
    std::size_t total = 0;
    for (char* p : ptrs) {
      std::string v = p ? std::string(p, strnlen(p, kMaxAttr)) : std::string();
      total += v.size();
      out.push_back(std::move(v));
      if (p) H5free_memory(p);
    }
    if (total > kMaxAttr) { why = "is larger than the scan limit"; return std::nullopt; }
    return out;
  }
  std::size_t size = H5Tget_size(type.id);
  if (size == 0 || size > kMaxAttr / count) { why = "has an implausible size"; return std::nullopt; }
  std::string buf(size * count, '\0');
  Id mem(H5Tcopy(type.id), H5Tclose);
  if (H5Aread(attr.id, mem.id, buf.data()) < 0) { why = "cannot be read"; return std::nullopt; }
  for (std::size_t i = 0; i < count; ++i) {
    std::string v = buf.substr(i * size, size);
    while (!v.empty() && v.back() == '\0') v.pop_back();
    out.push_back(std::move(v));
  }
  return out;
}

// Runs the library over a file whose superblock was validated; the HDF5 mutex must be held.
void init_library() {
  static const bool init = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    H5PLset_loading_state(0);
    return true;
  }();
  (void)init;
}

void scan_with_library(Context& ctx, ByteView data) {
  init_library();
  // DONT_COPY + DONT_RELEASE: the library reads our bytes in place and never writes or frees
  // them (read-only: no H5LT_FILE_IMAGE_OPEN_RW).
  hid_t fid = H5LTopen_file_image(const_cast<std::uint8_t*>(data.data()), data.size(),
                                  H5LT_FILE_IMAGE_DONT_COPY | H5LT_FILE_IMAGE_DONT_RELEASE);
  Id file(fid, H5Fclose);
  if (!file) {
    ctx.add(Severity::suspicious, "hdf5.malformed", "", "hdf5: the HDF5 library cannot open the file", 0);
    return;
  }
  // A file with these attributes claims to be a Keras model: Keras will read them, so a value the
  // scanner cannot read is dangerous (keras.unreadable-config), never a pass.
  for (const char* attr : {"model_config", "training_config"}) {
    std::string why;
    auto texts = read_string_attr(file.id, attr, why);
    if (texts) {
      for (std::size_t i = 0; i < texts->size(); ++i) {
        std::string where = texts->size() == 1 ? std::string(attr) : std::string(attr) + "[" + std::to_string(i) + "]";
        scan_keras_config_text(ctx, (*texts)[i], where);
      }
    } else if (!why.empty()) {
      ctx.add(Severity::dangerous, "keras.unreadable-config", attr,
              std::string("hdf5: attribute ") + attr + " " + why +
                  ": the file claims to be a Keras model but its config cannot be checked");
    }
  }
  Walk w{&ctx, file.id};
  if (H5Lvisit(file.id, H5_INDEX_NAME, H5_ITER_NATIVE, visit_link, &w) < 0 && w.links <= kMaxLinks) {
    ctx.add(Severity::suspicious, "hdf5.malformed", "", "hdf5: the HDF5 library failed while walking the file's links");
  }
}

// Findings cross the pipe as: u8 severity, u8 has_offset, u64 offset, then rule, subject,
// message each as u32 length + bytes.
void put_str(std::string& out, const std::string& s) {
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::string serialize(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += static_cast<char>(f.severity);
    out += static_cast<char>(f.offset.has_value());
    put_le<std::uint64_t>(out, f.offset.value_or(0));
    put_str(out, f.rule);
    put_str(out, f.subject);
    put_str(out, f.message);
  }
  return out;
}

bool deserialize(Context& ctx, ByteView in) {
  ByteReader r(in, "hdf5 child");
  while (!r.empty()) {
    auto sev = r.u8();
    auto has_off = r.u8();
    auto off = r.u64le();
    if (!sev || !has_off || !off || *sev > 2) return false;
    std::string parts[3];
    for (auto& part : parts) {
      auto n = r.u32le();
      if (!n) return false;
      auto b = r.bytes(*n);
      if (!b) return false;
      part = std::string(as_chars(*b));
    }
    ctx.add(static_cast<Severity>(*sev), parts[0], parts[1], parts[2],
            *has_off ? std::optional<std::uint64_t>(*off) : std::nullopt);
  }
  return true;
}

// Forks; the child scans with the library and writes serialized findings to a pipe. False when
// fork/pipe failed (the caller then scans in-process).
bool scan_isolated(Context& ctx, ByteView data) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {  // child: no return, no exit handlers
    close(fds[0]);
    Report rep;
    Context child(rep, ctx.limits());
    scan_with_library(child, data);
    std::string out = serialize(rep.findings);
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) _exit(3);
      done += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string buf;
  char chunk[65536];
  auto deadline = std::chrono::steady_clock::now() + kHdf5Timeout;
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { timed_out = true; break; }
    pollfd p{fds[0], POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) { timed_out = pr == 0; break; }
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    if (buf.size() > (64u << 20)) { timed_out = true; break; }  // runaway output: treat like a hang
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (timed_out) {
    ctx.add(Severity::suspicious, "hdf5.parser-timeout", "",
            "hdf5: the HDF5 library did not finish within " + std::to_string(kHdf5Timeout.count()) + " s on this file");
    return true;
  }
  if (WIFSIGNALED(status)) {
    ctx.add(Severity::dangerous, "hdf5.parser-crash", "",
            "hdf5: the HDF5 library crashed (signal " + std::to_string(WTERMSIG(status)) +
                ") reading this file: a crafted structure that can corrupt loaders' memory");
    return true;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !deserialize(ctx, as_bytes(buf))) {
    ctx.add(Severity::suspicious, "hdf5.malformed", "", "hdf5: the scanning process failed on this file");
  }
  return true;
}

}  // namespace

void scan_hdf5(Context& ctx, ByteView data) {
  if (std::string why = check_superblock(data); !why.empty()) {
    ctx.add(Severity::suspicious, "hdf5.malformed", "", "hdf5: " + why + "; not opened", 0);
    return;
  }
  std::lock_guard lock(hdf5_mutex());
  init_library();  // once, in this process: children inherit it
  if (!scan_isolated(ctx, data)) scan_with_library(ctx, data);
}

}  // namespace hubgate::scan
