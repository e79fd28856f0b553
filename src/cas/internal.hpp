// Private to src/cas/: the Service's state, shared by service.cpp (tokens, finalize, accounting)
// and the HTTP handlers (download_api.cpp, upload_api.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <expected>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "cas/cas.hpp"
#include "xet/object_store.hpp"

struct sqlite3;

namespace hubgate::cas {

using json = nlohmann::json;

// Counters for /metrics (monotonic since start).
struct Counters {
  std::atomic<std::uint64_t> reconstructions_v1{0}, reconstructions_v2{0}, reconstruction_denied{0};
  std::atomic<std::uint64_t> xorb_range_requests{0}, xorb_range_bytes{0}, xorb_url_rejected{0};
  std::atomic<std::uint64_t> xorbs_received{0}, xorb_bytes_received{0}, xorbs_inserted{0}, xorbs_rejected{0};
  std::atomic<std::uint64_t> shards_accepted{0}, shards_rejected{0};
  std::atomic<std::uint64_t> dedup_hits{0}, dedup_misses{0};
  std::atomic<std::uint64_t> ingested_files{0}, materialized_files{0};
};

struct Service::Impl {
  ServiceOptions opts;
  const auth::Signer& signer;
  repo::Catalog& catalog;
  std::shared_ptr<xet::ObjectStore> objects;
  std::unique_ptr<xet::ChunkStore> chunks;
  xet::MerkleHash dedup_key;  // HMAC key of global-dedup replies (random per process)
  std::int64_t dedup_key_expiry = 0;
  Counters counters;
  Service::RemoteFileHook remote_file;  // pull-through (cas.hpp)

  // Accounting database.
  mutable std::mutex db_mu;
  sqlite3* db = nullptr;

  // Single flight per sha256 for finalize_lfs_object.
  std::mutex flight_mu;
  std::condition_variable flight_cv;
  std::set<std::string> in_flight;

  ~Impl();

  Result<void> add_repo_file(const std::string& repo, const xet::MerkleHash& file, std::uint64_t size);
  Result<void> add_repo_bytes(const std::string& repo, std::uint64_t stored, std::uint64_t received);

  // Unverified sha256 -> file claims from uploaded shards (table sha256_candidates in stats.db;
  // see cas.hpp "Trust"). At most kMaxCandidates per sha256, newest first.
  static constexpr std::size_t kMaxCandidates = 8;
  Result<void> add_sha256_candidate(const std::string& sha256_hex, const xet::MerkleHash& file);
  Result<std::vector<xet::MerkleHash>> sha256_candidates(const std::string& sha256_hex) const;
  // Drops one claim (`file`), or every claim of the sha256 (nullptr).
  Result<void> drop_sha256_candidates(const std::string& sha256_hex, const xet::MerkleHash* file);

  // The chunk list of a stored xorb: from the chunk store's index, else from its stored footer.
  Result<std::optional<xet::CasInfo>> xorb_truth(const xet::MerkleHash& xorb) const;
  // Signed xorb range URL and its check (inclusive byte range).
  std::string xorb_url(const std::string& base, const xet::MerkleHash& xorb, std::uint64_t first, std::uint64_t last) const;

  // HTTP handlers.
  http::Response reconstruction(http::Request& req, const std::string& base, const std::string& hash, int version);
  http::Response xorb_get(http::Request& req, const std::string& hash, const std::vector<std::pair<std::string, std::string>>& q);
  http::Response chunk_query(http::Request& req, const std::string& hash);
  http::Response xorb_post(http::Request& req, const std::string& hash);
  http::Response shard_post(http::Request& req, int version);
  Result<XetToken> verify_token(std::string_view token) const;
  // Bearer token of a CAS call; the error response when missing/invalid or lacking `write`.
  std::expected<XetToken, http::Response> authorize(const http::Request& req, bool need_write) const;
};

// Error reply with JSON {"error"} and X-Error-Message.
http::Response cas_error(int status, std::string msg);
http::Response cas_json(int status, const json& j);

}  // namespace hubgate::cas
