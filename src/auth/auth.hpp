// Tokens, access rules and URL signing.
//
// Tokens look like "hf_hg_" + 40 random hex characters ("hf_" because @huggingface/hub refuses
// other prefixes client-side). Only their SHA-256 is stored (SQLite table
// `tokens(hash TEXT PRIMARY KEY, name TEXT, write INT, repos TEXT, created INT)` in
// `<data-dir>/auth.db`). A token may read every public repository; it may read a private
// repository, and (with `write`) change or create one, when the repository's qualified id
// ("org/name", "datasets/org/name") matches one of its comma-separated `repos` glob patterns
// ('*' matches any run of characters, '/' included; empty = all repositories).
//
// S3 access keys (`hubgate token create --s3`, for SigV4 on the read-only S3 face) live in the
// same database, table `s3_keys(access_key TEXT PRIMARY KEY, secret TEXT, name TEXT, write INT,
// repos TEXT, created INT)`. SigV4 needs the secret itself to recompute signatures, so it is
// stored as-is (the file is mode 0600); an access key has the same rights as a token with the
// same `write`/`repos`.
//
// `Signer` makes self-authorizing URLs: HMAC-SHA256 over a payload and an expiry time with a
// 32-byte secret kept in `<data-dir>/secret` (mode 0600, created on first use).
// Thread-safety: TokenStore and Signer are thread-safe.
#pragma once

#include "util/glob.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/error.hpp"

namespace hubgate::db {
class Pool;
}

namespace hubgate::auth {

struct Token {
  std::string name;
  bool write = false;
  std::vector<std::string> patterns;  // empty = every repository
};

using hubgate::glob_match;  // util/glob.hpp
std::vector<std::string> split_patterns(std::string_view repos);

// Access rules (pure). `token` null = anonymous.
bool can_read(const Token* token, std::string_view qualified_repo, bool is_private);
bool can_write(const Token* token, std::string_view qualified_repo);

class TokenStore {
 public:
  static Result<std::unique_ptr<TokenStore>> open(const std::string& db_path);
  // Cluster mode: table `tokens` (same columns) in PostgreSQL (db migration 11), shared by every
  // node. The schema must be current (db::migrate).
  static Result<std::unique_ptr<TokenStore>> open_pg(std::shared_ptr<db::Pool> pool);
  ~TokenStore();
  // Creates a token and returns its secret value (shown once).
  Result<std::string> create(std::string_view name, bool write, std::string_view repos);
  // nullopt for an unknown token.
  Result<std::optional<Token>> verify(std::string_view token);

  struct S3Key {
    std::string access_key;  // "HGAK" + 16 uppercase hex
    std::string secret;      // 40 hex characters
    Token token;             // the rights it carries
  };
  // Creates an S3 access key id + secret pair with the rights of a token.
  Result<S3Key> create_s3_key(std::string_view name, bool write, std::string_view repos);
  // nullopt for an unknown access key id.
  Result<std::optional<S3Key>> find_s3_key(std::string_view access_key);

 private:
  struct Impl;
  explicit TokenStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Signer {
 public:
  // Loads `<path>`, or creates it with a fresh random secret.
  static Result<Signer> load_or_create(const std::string& path);
  explicit Signer(std::string secret) : secret_(std::move(secret)) {}
  // Hex HMAC-SHA256 of payload + "|" + expires.
  std::string sign(std::string_view payload, std::int64_t expires) const;
  // Checks the signature (constant time) and that `now` < `expires`.
  Result<void> verify(std::string_view payload, std::int64_t expires, std::string_view sig, std::int64_t now) const;

 private:
  std::string secret_;
};

// Random lowercase hex of `bytes` bytes (OpenSSL RAND_bytes).
std::string random_hex(std::size_t bytes);

}  // namespace hubgate::auth
