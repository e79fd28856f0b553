// http::Server: an HTTP/1.1 server on Boost.Asio/Beast (hidden behind this header).
//
// One io_context run by `threads` threads (default: hardware_concurrency). Each connection is a
// coroutine on its own strand: it reads a header (bounded by `max_header_bytes`), then streams
// the body — into memory up to `memory_body_limit`, beyond that into a temp file under
// `spool_dir` while hashing it with SHA-256 — and calls the handler synchronously on the strand.
// Responses are written from memory, from a file with sendfile(2) (zero-copy), or from a
// BodyProducer chunk by chunk. Keep-alive; `Expect: 100-continue`; per-connection watchdog that
// closes a connection making no progress for `io_timeout` (or idle for `idle_timeout`).
// `drain()` stops accepting, lets in-flight requests finish (their replies carry
// `Connection: close`), closes idle connections, and returns when all are gone or the grace
// period ran out. Memory: an idle connection, or one that has sent only part of a header, holds
// its socket, timer and parser state (a few KB); the body buffer exists only while a body is
// read. Thread-safety: start()/drain()/stop() from one controlling thread; the
// handler is called concurrently from many threads and must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/message.hpp"
#include "util/error.hpp"

namespace hubgate::http {

// Called once per completed request (after the reply was written or the connection failed).
struct AccessRecord {
  std::string method, path, client, route, request_id;
  int status = 0;
  std::uint64_t bytes_sent = 0;      // body bytes
  std::uint64_t bytes_received = 0;  // body bytes
  double duration_ms = 0;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;                    // 0 = pick a free port (see Server::port())
  unsigned threads = 0;                         // 0 = std::thread::hardware_concurrency()
  // Handlers run on their own pool, apart from the event loops, so a handler that waits (an
  // upstream round trip, a fill, a commit's ingest) never stalls other connections' transfers.
  unsigned handler_threads = 0;                 // 0 = max(16, 4 × threads)
  std::size_t max_header_bytes = 16 * 1024;     // request line + headers; more -> 431
  std::uint64_t max_body_bytes = 1ull << 40;    // more -> 413
  std::size_t memory_body_limit = 1 << 20;      // larger bodies are spooled to `spool_dir`
  std::string spool_dir = "/tmp";               // temp files for large bodies
  // Whether a request's body is hashed while it is received (`RequestBody::sha256`); called
  // with the request line and headers. Empty = always. Routes that verify their bodies by
  // other means (Xet xorbs carry their own hashes) skip the SHA-256 pass.
  std::function<bool(const Request&)> hash_body;
  std::chrono::seconds io_timeout{60};          // no progress while reading/writing -> close
  std::chrono::seconds idle_timeout{75};        // keep-alive idle -> close
  std::chrono::seconds drain_grace{30};         // drain(): max wait for in-flight requests
  // Open connections at most; past it a new connection is answered `503` (`X-Error-Code:
  // TooManyConnections`, `Retry-After`) and closed. 0 = the process's file-descriptor limit
  // less a reserve for files, spools and upstream sockets.
  std::size_t max_connections = 0;
};

using Handler = std::function<Response(Request&)>;
using AccessSink = std::function<void(const AccessRecord&)>;

class Server {
 public:
  Server(ServerOptions opts, Handler handler, AccessSink sink = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the threads. Fails on a bad address or a port in use.
  Result<void> start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // Graceful: see above. Safe to call from a signal-watching thread.
  void drain();
  // Blocks until drain() finished (or stop()).
  void wait();
  // Connections currently open.
  std::uint64_t open_connections() const;
  // Connections refused since start() because `max_connections` were open.
  std::uint64_t refused_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives (the signals are blocked in the calling thread and every
// thread it starts afterwards; call before Server::start()).
void block_termination_signals();
int wait_for_termination_signal();

}  // namespace hubgate::http
