// Model manifests for OpenSSF model signing (v1.0 predicate, `model_signing` reference).
//
// A manifest maps every object of a model to a digest. Objects are whole files
// (`files` serialization: name = POSIX path relative to the model root, "." for a single-file
// model, algorithm = hash name) or byte ranges of files (`shards`: name = "path:start:end",
// end exclusive, algorithm = "<hash>-sharded-<shard_size>", zero-length files give no shard).
// Resources are kept sorted by (path components, start, end), like the reference.
//
// `compute_manifest` walks a model folder (or single file) the way the reference does: every
// regular file under the root, minus ignored paths (user paths, the bundle's recorded
// ignore_paths, `.git`, `.gitattributes`, `.github`, `.gitignore` unless disabled), symlinks
// refused unless allowed (then followed for files, never recursed into for folders). Files are
// hashed in parallel with a bounded thread pool; in `shards` mode every shard is its own task,
// so one large file uses every thread. `files` mode hashes one file per thread (one digest per
// file cannot be split for SHA-256). Like the reference, blake3 + shards degrades to files.
//
// The gateway can build a manifest from bytes or known digests it already holds
// (`manifest_from_memory`, `manifest_from_file_digests`) and `compare_manifests` against the
// signed one. Thread-safety: all functions are re-entrant; values are plain data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::sign {

enum class HashType { sha256, blake2b, blake3 };
enum class Method { files, shards };

const char* hash_type_name(HashType h);  // "sha256", "blake2b", "blake3"
Result<HashType> parse_hash_type(std::string_view s);
const char* method_name(Method m);      // "files", "shards"

// The `serialization` block of the predicate.
struct Serialization {
  Method method = Method::files;
  HashType hash = HashType::sha256;
  std::uint64_t shard_size = 1'000'000'000;  // shards only; the reference's default (1 GB)
  bool allow_symlinks = false;
  std::vector<std::string> ignore_paths;     // recorded paths, relative to the model root
};

struct Resource {
  std::string name;       // "a/b.bin", "." or "a/b.bin:0:1000"
  std::string algorithm;  // "sha256", "sha256-sharded-1000", ...
  std::string digest;     // lowercase hex
  bool operator==(const Resource&) const = default;
};

struct Manifest {
  std::string model_name;  // informative only
  Serialization serialization;
  std::vector<Resource> resources;  // sorted by resource_less
};

// Order of the reference: by path components, then (shards) start, then end. In `files` mode
// a ':' is part of the file name.
bool resource_less(std::string_view a, std::string_view b, Method m = Method::shards);
void sort_resources(std::vector<Resource>& r, Method m);

// Lexical normalisation of a relative POSIX path like pathlib.PurePosixPath: repeated and
// trailing slashes and "." components dropped ("." alone stays "."). Fails on an absolute
// path, a ".." component, an empty name or a NUL byte.
Result<std::string> normalize_relative(std::string_view path);

// The default ignored git paths.
inline constexpr const char* kGitPaths[] = {".git", ".gitattributes", ".github", ".gitignore"};

struct HashOptions {
  Serialization serialization;           // method, hash, shard size, allow_symlinks
  std::vector<std::string> ignore_paths;  // extra paths relative to the model root
  bool ignore_git_paths = true;
  // When set, only these files (relative names) are hashed, as with --ignore-unsigned-files; a
  // missing one is an error.
  std::optional<std::vector<std::string>> only_files;
  unsigned threads = 0;                   // 0 = std::thread::hardware_concurrency()
  std::size_t read_chunk = 1 << 20;       // bytes per read
  // Record ignore paths (user + git) in serialization.ignore_paths (what the reference's
  // signer does); verification leaves it as is.
  bool record_ignore_paths = true;
};

// Hashes the model at `model` (folder or single file).
Result<Manifest> compute_manifest(const std::filesystem::path& model, const HashOptions& opt);

// Manifest of in-memory files {relative name -> bytes} (gateway use; name "." = single file).
Result<Manifest> manifest_from_memory(const std::vector<std::pair<std::string, ByteView>>& files,
                                      const Serialization& s);
// Manifest of files whose digest (hex) is already known; `files` serialization only.
Result<Manifest> manifest_from_file_digests(const std::vector<std::pair<std::string, std::string>>& files,
                                            const Serialization& s);

// Compares exactly (names, algorithms, digests). The error lists every extra file, missing
// file and digest mismatch, e.g. "hash mismatch for 'weights.bin': expected sha256:ab..,
// actual sha256:cd..; extra files found in model: x".
Result<void> compare_manifests(const Manifest& expected, const Manifest& actual);

// Hex digest of one buffer with the given hash (used for shards and tests).
std::string digest_hex(HashType h, ByteView data);

}  // namespace hubgate::sign
