// `hubgate xet ...`: chunk, hash and dedup-estimate local files with the Xet algorithms.
//   chunk FILE         one line per chunk: "<end offset> <length> <chunk hash>", then root and file hash
//   hash FILE...       "<xet file hash> <sha256> <size> <path>" per file
//   dedup PATH...      bytes stored after chunk-level dedup (and LZ4/BG4 compression) across all
//                      files (folders are walked), per file and in total, against whole-file storage
// Files are streamed in 8 MiB blocks; nothing is written.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/hex.hpp"
#include "xet/chunker.hpp"
#include "xet/hash.hpp"
#include "xet/xorb.hpp"

namespace hubgate {

namespace {

using namespace hubgate::xet;

constexpr std::size_t kBlock = 8 << 20;

// Streams a file through `on_chunk(bytes)` for each chunk and `on_data(bytes)` for all bytes.
Result<std::uint64_t> stream_chunks(const std::string& path, const std::function<void(ByteView)>& on_chunk,
                                    const std::function<void(ByteView)>& on_data) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  std::vector<std::uint8_t> buf(kBlock);
  std::string carry;
  Chunker chunker;
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return fail(os_error("read", path, e));
    }
    if (n == 0) break;
    ByteView data(buf.data(), static_cast<std::size_t>(n));
    total += data.size();
    on_data(data);
    std::size_t off = 0;
    while (off < data.size()) {
      std::size_t cut = chunker.next_cut(data.subspan(off));
      if (cut == 0) break;
      if (carry.empty()) {
        on_chunk(data.subspan(off, cut));
      } else {
        carry.append(reinterpret_cast<const char*>(data.data() + off), cut);
        on_chunk(as_bytes(carry));
        carry.clear();
      }
      off += cut;
    }
    carry.append(reinterpret_cast<const char*>(data.data() + off), data.size() - off);
  }
  ::close(fd);
  if (chunker.finish() > 0) on_chunk(as_bytes(carry));
  return total;
}

// --hj-compat: chunk as xetchunk-wasm 0.2.0 does (no minimum-size test; whole file in memory).
int cmd_chunk_hj(const char* path) {
  auto data = read_file(path);
  if (!data) {
    std::fprintf(stderr, "hubgate xet chunk: %s\n", data.error().message.c_str());
    return 1;
  }
  std::vector<HashAndSize> leaves;
  std::uint64_t end = 0;
  for (auto len : chunk_lengths_reference(as_bytes(*data), true)) {
    MerkleHash h = chunk_hash(as_bytes(*data).subspan(end, len));
    leaves.push_back({h, len});
    end += len;
    std::printf("%llu %u %s\n", static_cast<unsigned long long>(end), len, h.hex().c_str());
  }
  std::printf("root %s file %s\n", merkle_root(leaves).hex().c_str(), file_hash(leaves).hex().c_str());
  return 0;
}

int cmd_chunk(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--hj-compat") return cmd_chunk_hj(argv[2]);
  if (argc != 2) {
    std::fputs("usage: hubgate xet chunk [--hj-compat] FILE\n", stderr);
    return 2;
  }
  std::vector<HashAndSize> leaves;
  std::uint64_t end = 0;
  auto r = stream_chunks(
      argv[1],
      [&](ByteView c) {
        MerkleHash h = chunk_hash(c);
        leaves.push_back({h, c.size()});
        end += c.size();
        std::printf("%llu %zu %s\n", static_cast<unsigned long long>(end), c.size(), h.hex().c_str());
      },
      [](ByteView) {});
  if (!r) {
    std::fprintf(stderr, "hubgate xet chunk: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("root %s file %s\n", merkle_root(leaves).hex().c_str(), file_hash(leaves).hex().c_str());
  return 0;
}

int cmd_hash(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: hubgate xet hash FILE...\n", stderr);
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<HashAndSize> leaves;
    crypto::Sha256 sha;
    auto r = stream_chunks(
        argv[i], [&](ByteView c) { leaves.push_back({chunk_hash(c), c.size()}); }, [&](ByteView d) { sha.update(d); });
    if (!r) {
      std::fprintf(stderr, "hubgate xet hash: %s\n", r.error().message.c_str());
      rc = 1;
      continue;
    }
    auto digest = sha.final();
    std::printf("%s %s %llu %s\n", file_hash(leaves).hex().c_str(), to_hex(ByteView(digest.data(), digest.size())).c_str(),
                static_cast<unsigned long long>(*r), argv[i]);
  }
  return rc;
}

int cmd_dedup(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: hubgate xet dedup PATH...\n", stderr);
    return 2;
  }
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (std::filesystem::is_directory(argv[i], ec)) {
      for (auto& e : std::filesystem::recursive_directory_iterator(argv[i], ec))
        if (e.is_regular_file(ec)) files.push_back(e.path().string());
    } else {
      files.push_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  std::unordered_set<MerkleHash, MerkleHashHasher> seen;
  std::set<std::string> whole_files;  // by sha256
  std::uint64_t logical = 0, unique = 0, packed = 0, whole = 0;
  std::string scratch;
  std::printf("%-14s %-14s %-14s %s\n", "size", "new_bytes", "new_stored", "path");
  for (const auto& f : files) {
    std::uint64_t new_bytes = 0, new_packed = 0;
    crypto::Sha256 sha;
    auto r = stream_chunks(
        f,
        [&](ByteView c) {
          if (!seen.insert(chunk_hash(c)).second) return;
          new_bytes += c.size();
          scratch.clear();
          append_record(scratch, c, CompressionPolicy::automatic);
          new_packed += scratch.size();
        },
        [&](ByteView d) { sha.update(d); });
    if (!r) {
      std::fprintf(stderr, "hubgate xet dedup: %s\n", r.error().message.c_str());
      return 1;
    }
    auto d = sha.final();
    if (whole_files.insert(std::string(reinterpret_cast<const char*>(d.data()), d.size())).second) whole += *r;
    logical += *r;
    unique += new_bytes;
    packed += new_packed;
    std::printf("%-14llu %-14llu %-14llu %s\n", static_cast<unsigned long long>(*r), static_cast<unsigned long long>(new_bytes),
                static_cast<unsigned long long>(new_packed), f.c_str());
  }
  auto pct = [&](std::uint64_t x) { return logical ? 100.0 * static_cast<double>(x) / static_cast<double>(logical) : 0.0; };
  std::printf("files %zu\nlogical_bytes %llu\nwhole_file_dedup_bytes %llu (%.1f%%)\nchunk_dedup_bytes %llu (%.1f%%)\nstored_bytes %llu (%.1f%%, after compression, record headers included)\n",
              files.size(), static_cast<unsigned long long>(logical), static_cast<unsigned long long>(whole), pct(whole),
              static_cast<unsigned long long>(unique), pct(unique), static_cast<unsigned long long>(packed), pct(packed));
  return 0;
}

void usage(std::FILE* out) {
  std::fputs(
      "usage: hubgate xet <command> ...\n"
      "  chunk [--hj-compat] FILE  chunk boundaries and hashes (one line per chunk: end length hash)\n"
      "  hash FILE...    Xet file hash, sha256 and size of each file\n"
      "  dedup PATH...   bytes stored after chunk dedup + compression, per file and overall\n"
      "  stats [--data-dir DIR] [--json]  Xet accounting of a server's data directory\n"
      "'hubgate xet <command> --help' describes a command.\n",
      out);
}

}  // namespace

int xet_main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help") {
    usage(stdout);
    return 0;
  }
  if (argc >= 3 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h")) {
    const char* text = cmd == "chunk" ? "usage: hubgate xet chunk [--hj-compat] FILE\n"
                       : cmd == "hash" ? "usage: hubgate xet hash FILE...\n"
                       : cmd == "dedup" ? "usage: hubgate xet dedup PATH...\n"
                                        : nullptr;
    if (text) {
      std::fputs(text, stdout);
      return 0;
    }
  }
  if (cmd == "chunk") return cmd_chunk(argc - 1, argv + 1);
  if (cmd == "hash") return cmd_hash(argc - 1, argv + 1);
  if (cmd == "dedup") return cmd_dedup(argc - 1, argv + 1);
  std::fprintf(stderr, "hubgate xet: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}

}  // namespace hubgate
