// SHA-256 and SHA-1 (git blob ids), one-shot and streaming, on OpenSSL's EVP.
//
// `Sha256`/`Sha1` are incremental hashers: update() any number of times, then final() once.
// Objects are movable, not copyable, not thread-safe. Digests are raw bytes; use to_hex().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/byte_reader.hpp"

namespace hubgate::crypto {

using Digest32 = std::array<std::uint8_t, 32>;
using Digest20 = std::array<std::uint8_t, 20>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(ByteView data);
  void update(std::string_view data) { update(as_bytes(data)); }
  Digest32 final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(Sha1&&) noexcept;
  Sha1& operator=(Sha1&&) noexcept;
  void update(ByteView data);
  void update(std::string_view data) { update(as_bytes(data)); }
  Digest20 final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest32 sha256(ByteView data);
inline Digest32 sha256(std::string_view data) { return sha256(as_bytes(data)); }
std::string sha256_hex(std::string_view data);

// Git blob id: sha1("blob <size>\0" + content). `GitBlobHasher` streams it when the size is known.
std::string git_blob_sha1_hex(std::string_view content);
class GitBlobHasher {
 public:
  explicit GitBlobHasher(std::uint64_t size);
  void update(ByteView data) { sha_.update(data); }
  std::string final_hex();

 private:
  Sha1 sha_;
};

}  // namespace hubgate::crypto
