// store::S3Client: the gateway as a client of an S3-compatible object store (AWS S3, GCS's XML
// API with HMAC keys, Ceph RGW, SeaweedFS). Requests are signed by libcurl (CURLOPT_AWS_SIGV4
// "aws:amz:REGION:s3"); what libcurl 7.88 (Debian 12) leaves to the caller is done here
// (ARCHITECTURE.md "Object storage"): every request carries its own
// `x-amz-content-sha256`, the path is SigV4-encoded by us, the query is built pre-sorted and
// encoded with `=` on every parameter, and no `X-Amz-Date`/`Accept-Encoding`/removal entries go
// into the signed headers.
//
// Keys given to the methods are relative to the configured prefix (`s3://BUCKET/PREFIX`).
// Operations:
//  - head / get (whole or one byte range, streamed to a sink, resumed after a transport failure
//    with a Range from where it stopped) / remove / list (ListObjectsV2, paged);
//  - put_if_absent from memory or from a file: one PUT up to `multipart_threshold`, else a
//    multipart upload whose parts are read from the file one at a time (never the whole object
//    in memory). Create-if-absent is `If-None-Match: *`: 412 means "already stored" (keys are
//    content hashes) and returns false. A HEAD first skips uploading what is there.
// Retries: transport errors, 500/502/503/504, `SlowDown`, 400 `RequestTimeout`, 409
// `ConditionalRequestConflict` and 200-with-<Error> from CompleteMultipartUpload are retried with
// exponential backoff and full jitter (capped), each retry re-signed. When the store stays
// unreachable the error is Errc::unavailable; 403 is Errc::permission_denied (wrong credentials,
// clock skew), 404 Errc::not_found, other 4xx Errc::io with the S3 code and message.
//
// Thread-safety: all methods are thread-safe; libcurl easy handles are pooled (connections are
// reused across calls). Call curl_global_init (http::global_init) before any thread starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace hubgate::store {

enum class S3Addressing { path, virtual_host };

struct S3Config {
  std::string endpoint;  // "http(s)://host[:port]", no trailing slash
  std::string bucket;
  std::string prefix;    // "" or "a/b": keys live under "a/b/"
  S3Addressing addressing = S3Addressing::path;
  std::string region = "us-east-1";  // "auto" for GCS
  std::string access_key, secret_key, session_token;
  // Objects larger than this go up in parts of `part_size` bytes (S3: 5 MiB .. 5 GiB, <= 10,000).
  std::uint64_t multipart_threshold = 64ull << 20;
  std::uint64_t part_size = 16ull << 20;
  int max_attempts = 5;                                   // per operation, the first one included
  std::chrono::milliseconds backoff_base{100};            // doubles per retry, full jitter
  std::chrono::milliseconds backoff_cap{20000};
  long connect_timeout_s = 10;
  long low_speed_time_s = 60;  // a transfer under 1 KiB/s for this long is a transport failure
};

// "s3://BUCKET[/PREFIX]" -> bucket and prefix (other fields untouched).
Result<void> parse_s3_url(std::string_view url, S3Config& cfg);
// The AWS endpoint of a region: https://s3.REGION.amazonaws.com.
std::string aws_endpoint(const std::string& region);
// SigV4 URI encoding (RFC 3986 unreserved kept; '/' kept when `keep_slash`).
std::string s3_uri_encode(std::string_view s, bool keep_slash);

struct S3Object {
  std::string key;  // relative to the prefix
  std::uint64_t size = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Config cfg);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const { return cfg_; }

  // Size, or nullopt when absent.
  Result<std::optional<std::uint64_t>> head(const std::string& key);
  // Streams the object (or bytes [first, first+length)) to `sink`; Errc::not_found when absent,
  // Errc::invalid_argument for a range past the end. The sink's error stops the transfer and is
  // returned. On a transport failure the GET resumes where it stopped.
  using Sink = std::function<Result<void>(std::string_view)>;
  Result<void> get(const std::string& key, const Sink& sink, std::optional<std::uint64_t> first = std::nullopt,
                   std::optional<std::uint64_t> length = std::nullopt);
  Result<std::string> get_bytes(const std::string& key, std::optional<std::uint64_t> first = std::nullopt,
                                std::optional<std::uint64_t> length = std::nullopt);
  // Create-if-absent; true when stored now, false when the key existed. `sha256_hex` is the
  // body's SHA-256 when known (the store then verifies the body), else it is computed (memory)
  // or the payload goes UNSIGNED-PAYLOAD (file).
  Result<bool> put_if_absent(const std::string& key, std::string_view data, std::string sha256_hex = {});
  Result<bool> put_file_if_absent(const std::string& key, const std::string& path, std::string sha256_hex = {});
  // true when it existed (S3 does not say: always true after a 204).
  Result<void> remove(const std::string& key);
  // Every key under `key_prefix` (relative), with sizes.
  Result<std::vector<S3Object>> list(const std::string& key_prefix);
  // Startup check: writes a probe key twice with If-None-Match: * and deletes it. Fails when the
  // store cannot be reached or refuses the credentials; `conditional` tells whether the second
  // write was refused with 412 (create-if-absent honoured).
  struct Probe {
    bool conditional = false;
  };
  Result<Probe> probe();

  // Test and metrics counters.
  struct Counters {
    std::uint64_t requests = 0, retries = 0, multipart_uploads = 0, parts = 0, bytes_up = 0, bytes_down = 0;
  };
  Counters counters() const;

 private:
  struct Impl;
  S3Config cfg_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hubgate::store
