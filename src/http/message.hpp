// HTTP request and response values exchanged between http::Server and its handler.
//
// These types carry no Boost: the rest of hubgate includes only this header (and server.hpp).
// A Request owns its headers and its body; a body larger than the server's in-memory limit was
// already spooled to a temporary file (and hashed with SHA-256 on the way in) — the handler may
// adopt that file (rename it) or read it; the server deletes it afterwards if it still exists.
// A Response body is one of: bytes in memory, a slice of an open file (served with sendfile(2)),
// or a BodyProducer that yields chunks incrementally (e.g. a cache fill still in progress).
// Thread-safety: plain values; a BodyProducer is driven by one connection at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.hpp"

namespace hubgate::http {

// Header list with case-insensitive lookup; keeps order and duplicates.
class Headers {
 public:
  struct Field {
    std::string name, value;
  };
  // First value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  // All values of `name`.
  std::vector<std::string_view> all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  void add(std::string name, std::string value) { fields_.push_back({std::move(name), std::move(value)}); }
  // Replace every `name` by one field.
  void set(std::string_view name, std::string value);
  void erase(std::string_view name);
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

bool iequals(std::string_view a, std::string_view b);

// A received request body. Either `data` holds all of it (`file` empty) or it lives in `file`.
struct RequestBody {
  std::string data;
  std::string file;         // temp file path, when spooled; the server unlinks it afterwards
  std::uint64_t size = 0;   // bytes received
  std::string sha256;       // lowercase hex sha256 of the body (empty when the server's
                            // `hash_body` said this route does not need it)
  bool in_file() const { return !file.empty(); }
  // Whole body as a string (reads the file if spooled); fails above `limit` bytes.
  Result<std::string> read_all(std::uint64_t limit) const;
};

struct Request {
  std::string method;      // "GET", "HEAD", ...
  std::string target;      // raw request target: path + optional "?query"
  std::string path;        // raw (still percent-encoded) path part of target
  std::string query;       // raw query string without '?'
  Headers headers;
  RequestBody body;
  std::string client;      // "ip:port" of the peer
  std::string request_id;  // assigned by the server (echoed as X-Request-Id)
};

// An open file shared between responses; closes on last release.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }
  // open(2) read-only; Errc::not_found when it does not exist.
  static Result<std::shared_ptr<FileHandle>> open(const std::string& path);

 private:
  int fd_;
};

struct FileBody {
  std::shared_ptr<FileHandle> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// One step of a produced body: bytes, or the end, or a failure (the connection is then closed,
// because the client would otherwise take a truncated body for a complete one). The bytes are
// `data`, then (when set) a slice of an open file, which goes out with sendfile(2) like a
// FileBody: a producer whose bytes already sit in a file (a cache fill) hands them over
// without copying them through user space.
// After `file`, `parts` follow in order, each bytes or a file slice (sendfile(2)): a body
// reconstructed from stored records is mostly slices of the files that hold them.
struct Chunk {
  std::string data;
  bool end = false;
  std::optional<Error> error;
  std::optional<FileBody> file;
  std::vector<std::variant<std::string, FileBody>> parts;
  std::uint64_t size() const {
    std::uint64_t n = data.size() + (file ? file->length : 0);
    for (const auto& p : parts) {
      if (const auto* s = std::get_if<std::string>(&p)) n += s->size();
      else n += std::get<FileBody>(p).length;
    }
    return n;
  }
};

// Incremental body source. `pull` asks for the next chunk; the producer calls `deliver` exactly
// once, from any thread, when bytes (or the end) are available. At most one pull is in flight.
class BodyProducer {
 public:
  virtual ~BodyProducer() = default;
  virtual void pull(std::function<void(Chunk)> deliver) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::variant<std::string, FileBody, std::shared_ptr<BodyProducer>> body;
  // For a producer body: the total length if known (else the reply is chunked).
  std::optional<std::uint64_t> producer_length;
  // Label for metrics ("resolve", "tree", ...); set by the router.
  std::string route = "other";
  // Close the connection after this response.
  bool close = false;

  std::uint64_t body_length() const;
};

// Convenience constructors.
Response text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
Response json_response(int status, std::string json);

const char* status_reason(int status);

}  // namespace hubgate::http
