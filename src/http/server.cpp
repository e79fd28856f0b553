// http::Server implementation.
//
// Accept loop: one coroutine on the acceptor; every accepted socket gets its own strand and two
// coroutines on it: `session` (the request loop) and `watchdog` (closes the socket once
// `deadline` passes; every read/write step pushes the deadline forward, so a stalled peer is
// dropped but a slow one making progress is not). Beast parses the request header
// (request_parser<empty_body>, header_limit) and is then switched to buffer_body to stream the
// body in 64 KiB pieces into a Spool (memory, then a temp file past memory_body_limit), hashing
// as it goes. The handler runs on a separate thread pool (ServerOptions::handler_threads) while
// the session coroutine waits, so a handler that blocks never holds up the event loops that
// stream other replies; its connection's deadline is suspended meanwhile. The reply head is
// formatted here; bodies go out with async_write (memory),
// sendfile(2) on the non-blocking socket with async_wait(write) on EAGAIN (files), or a loop
// over BodyProducer::pull (chunked when the length is unknown; a failing chunked body's error
// chunk may carry bytes, written where the next chunk size belongs before the connection
// closes, so clients that quote the malformed line show why). Large sendfile transfers yield
// to the executor after every 2 MiB so one fast client cannot starve others on the same thread.
#include "http/server.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "crypto/sha.hpp"
#include "http/asio.hpp"
#include "http/url.hpp"
#include "util/hex.hpp"

namespace hubgate::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// sendfile(2) at most this much per call, then let the thread serve other connections before
// continuing (nginx's sendfile_max_chunk model): sockets are refilled round-robin long before
// they run dry, instead of each being filled to EAGAIN and then waiting for a write edge.
constexpr std::uint64_t kSendfileChunk = 2u << 20;

// TCP_CORK for a scope: the kernel sends only full segments until it is released.
struct Cork {
  explicit Cork(int fd) : fd_(fd) {
    int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  }
  ~Cork() {
    int off = 0;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  }
  Cork(const Cork&) = delete;
  Cork& operator=(const Cork&) = delete;

 private:
  int fd_;
};

std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(char(c));
    }
  }
  return out;
}

Response error_reply(int status, std::string_view msg) {
  Response r = json_response(status, "{\"error\":\"" + json_escape(msg) + "\"}");
  r.headers.set("X-Error-Message", std::string(msg));
  r.close = true;
  r.route = "invalid";
  return r;
}

// Collects a request body: memory first, then a temp file; hashed unless told not to.
class Spool {
 public:
  Spool(const ServerOptions& o, bool hash) : opts_(o), hash_(hash) {}
  ~Spool() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty() && !handed_over_) ::unlink(path_.c_str());
  }
  Result<void> write(const char* p, std::size_t n) {
    if (n == 0) return {};
    if (hash_) sha_.update(ByteView(reinterpret_cast<const std::uint8_t*>(p), n));
    size_ += n;
    if (fd_ < 0 && mem_.size() + n <= opts_.memory_body_limit) {
      mem_.append(p, n);
      return {};
    }
    if (fd_ < 0) {
      std::string tmpl = opts_.spool_dir + "/body-XXXXXX";
      fd_ = ::mkstemp(tmpl.data());
      if (fd_ < 0) return fail(os_error("mkstemp", tmpl, errno));
      path_ = tmpl;
      HG_TRY_VOID(write_fd(mem_.data(), mem_.size()));
      mem_.clear();
      mem_.shrink_to_fit();
    }
    return write_fd(p, n);
  }
  RequestBody finish() {
    RequestBody b;
    b.size = size_;
    if (hash_) b.sha256 = to_hex(sha_.final());
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
      b.file = path_;
      handed_over_ = true;
    } else {
      b.data = std::move(mem_);
    }
    return b;
  }

 private:
  Result<void> write_fd(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(os_error("write", path_, errno));
      p += w;
      n -= std::size_t(w);
    }
    return {};
  }
  const ServerOptions& opts_;
  bool hash_;
  std::string mem_;
  std::string path_;
  int fd_ = -1;
  bool handed_over_ = false;
  std::uint64_t size_ = 0;
  crypto::Sha256 sha_;
};

// Await one chunk from a producer; the delivery is posted back to the coroutine's executor.
template <class Token>
auto async_pull(BodyProducer& p, Token&& token) {
  return net::async_initiate<Token, void(Chunk)>(
      [&p](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        p.pull([h](Chunk c) {
          auto ex = net::get_associated_executor(*h);
          net::post(ex, [h, c = std::move(c)]() mutable { (*h)(std::move(c)); });
        });
      },
      token);
}

}  // namespace

struct Conn {
  explicit Conn(tcp::socket s) : sock(std::move(s)), timer(sock.get_executor()) {}
  tcp::socket sock;
  net::steady_timer timer;
  Clock::time_point deadline = Clock::now();
  bool idle = true;
  bool closed = false;
  std::string peer;
  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    timer.cancel();
  }
};

struct Server::Impl {
  ServerOptions opts;
  Handler handler;
  AccessSink sink;
  // One io_context per thread (the nginx worker model): a connection lives on one thread, so a
  // readiness event is handled by the thread that saw it, with no cross-thread hand-off.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::unique_ptr<net::thread_pool> handlers;  // where handler() runs (ServerOptions::handler_threads)
  std::unique_ptr<tcp::acceptor> acceptor_ptr;
  std::size_t next_ioc = 0;
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> peak_open{0};  // high-water mark since memory was last released
  std::atomic<std::uint64_t> refused{0};  // connections refused past max_connections
  std::uint64_t max_connections = 0;      // resolved from opts at start()
  std::atomic<std::uint64_t> next_id{1};
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_set<std::shared_ptr<Conn>> conns;
  bool stopped = false;

  awaitable<void> accept_loop();
  void refuse_connection(tcp::socket& s);
  void release_memory_after_burst(std::uint64_t now_open);
  awaitable<void> session(std::shared_ptr<Conn> c);
  awaitable<void> watchdog(std::shared_ptr<Conn> c);
  // sendfile(2) of one file slice; false when the peer is gone or the file is shorter.
  // `cork`: set TCP_CORK for the transfer (false when the caller already holds a Cork).
  awaitable<bool> send_file(Conn& c, const FileBody& f, std::uint64_t& sent, bool cork = true);
  awaitable<bool> write_response(Conn& c, const Request& req, Response& res, bool keep_alive,
                                 std::uint64_t& sent);
  void touch(Conn& c, std::chrono::seconds t) { c.deadline = Clock::now() + t; }
};

awaitable<void> Server::Impl::watchdog(std::shared_ptr<Conn> c) {
  while (!c->closed) {
    c->timer.expires_at(c->deadline);
    boost::system::error_code ec;
    co_await c->timer.async_wait(net::redirect_error(use_awaitable, ec));
    if (c->closed) break;
    if (Clock::now() >= c->deadline) c->close();
  }
}

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    auto& acceptor = *acceptor_ptr;
    net::any_io_executor ex = net::make_strand(*iocs[next_ioc++ % iocs.size()]);
    tcp::socket s = co_await acceptor.async_accept(ex, net::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor.is_open() || draining) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      net::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await t.async_wait(net::redirect_error(use_awaitable, ec));
      continue;
    }
    if (open.load() >= max_connections) {
      refuse_connection(s);
      continue;
    }
    s.set_option(tcp::no_delay(true), ec);
    auto c = std::make_shared<Conn>(std::move(s));
    auto ep = c->sock.remote_endpoint(ec);
    if (!ec) c->peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    {
      std::lock_guard lk(mu);
      conns.insert(c);
    }
    const std::uint64_t now_open = ++open;
    for (std::uint64_t p = peak_open.load(); now_open > p && !peak_open.compare_exchange_weak(p, now_open);) {
    }
    touch(*c, opts.io_timeout);
    net::co_spawn(ex, watchdog(c), net::detached);
    net::co_spawn(ex, session(c), net::detached);
  }
}

void Server::Impl::refuse_connection(tcp::socket& s) {
  // A fresh socket's send buffer takes this whole; no coroutine or buffer is spent on it.
  static const std::string reply = [] {
    const std::string body =
        R"({"error":"the server has too many open connections; retry shortly"})";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "X-Error-Code: TooManyConnections\r\nRetry-After: 1\r\nConnection: close\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  refused++;
  (void)::send(s.native_handle(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  boost::system::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
  s.close(ec);
}

awaitable<bool> Server::Impl::write_response(Conn& c, const Request& req, Response& res, bool keep_alive,
                                             std::uint64_t& sent) {
  boost::system::error_code ec;
  const bool head_only = req.method == "HEAD";
  const bool no_body = head_only || res.status == 204 || res.status == 304 || res.status < 200;
  auto* producer = std::get_if<std::shared_ptr<BodyProducer>>(&res.body);
  const bool chunked = producer && !res.producer_length && !head_only;

  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + status_reason(res.status) + "\r\n";
  for (const auto& f : res.headers.fields()) {
    if (iequals(f.name, "Content-Length") || iequals(f.name, "Connection") ||
        iequals(f.name, "Transfer-Encoding"))
      continue;
    head += f.name;
    head += ": ";
    head += f.value;
    head += "\r\n";
  }
  if (res.status != 204 && res.status != 304) {
    if (chunked) {
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      head += "Content-Length: " + std::to_string(res.body_length()) + "\r\n";
    }
  }
  head += "X-Request-Id: " + req.request_id + "\r\n";
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";

  touch(c, opts.io_timeout);
  if (auto* s = std::get_if<std::string>(&res.body); s && !no_body) {
    std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(*s)};
    co_await net::async_write(c.sock, bufs, net::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    sent += s->size();
    co_return true;
  }
  co_await net::async_write(c.sock, net::buffer(head), net::redirect_error(use_awaitable, ec));
  if (ec) co_return false;
  if (no_body) co_return true;

  if (auto* f = std::get_if<FileBody>(&res.body)) co_return co_await send_file(c, *f, sent);

  if (producer) {
    auto p = *producer;
    for (;;) {
      touch(c, opts.io_timeout);
      Chunk ch = co_await async_pull(*p, use_awaitable);
      // A failing chunked body: the error chunk's bytes, if any, go where the next chunk size
      // belongs (never valid hex: the client fails the body and may quote the line).
      if (!c.closed && ch.error && chunked && !ch.data.empty()) {
        std::string line = ch.data + "\r\n";
        co_await net::async_write(c.sock, net::buffer(line), net::redirect_error(use_awaitable, ec));
      }
      if (c.closed || ch.error) co_return false;
      if (ch.size() > 0) {
        touch(c, opts.io_timeout);
        char sz[32];
        int len = chunked ? std::snprintf(sz, sizeof sz, "%llx\r\n", static_cast<unsigned long long>(ch.size())) : 0;
        if (len > 0 || !ch.data.empty()) {
          std::array<net::const_buffer, 2> bufs{net::buffer(sz, std::size_t(len)), net::buffer(ch.data)};
          co_await net::async_write(c.sock, bufs, net::redirect_error(use_awaitable, ec));
          if (ec) co_return false;
          sent += ch.data.size();
        }
        if (ch.file && !co_await send_file(c, *ch.file, sent)) co_return false;
        if (!ch.parts.empty()) {
          Cork cork(c.sock.native_handle());  // full segments across the parts (nginx's tcp_nopush)
          for (const auto& part : ch.parts) {
            if (const auto* f = std::get_if<FileBody>(&part)) {
              if (!co_await send_file(c, *f, sent, false)) co_return false;
            } else {
              const auto& bytes = std::get<std::string>(part);
              co_await net::async_write(c.sock, net::buffer(bytes), net::redirect_error(use_awaitable, ec));
              if (ec) co_return false;
              sent += bytes.size();
            }
          }
        }
        if (chunked) {
          co_await net::async_write(c.sock, net::buffer("\r\n", 2), net::redirect_error(use_awaitable, ec));
          if (ec) co_return false;
        }
      }
      if (ch.end) break;
    }
    if (chunked) {
      co_await net::async_write(c.sock, net::buffer("0\r\n\r\n", 5), net::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
    } else if (res.producer_length && sent != *res.producer_length) {
      co_return false;
    }
  }
  co_return true;
}

awaitable<bool> Server::Impl::send_file(Conn& c, const FileBody& f, std::uint64_t& sent, bool cork) {
  boost::system::error_code ec;
  int sfd = c.sock.native_handle();
  c.sock.native_non_blocking(true, ec);
  // Cork while streaming the file (full segments, like nginx's tcp_nopush); uncorked at the end.
  std::optional<Cork> corked;
  if (cork) corked.emplace(sfd);
  off_t off = off_t(f.offset);
  std::uint64_t left = f.length;
  std::uint64_t since_yield = 0;
  while (left > 0) {
    touch(c, opts.io_timeout);
    std::size_t want = std::size_t(std::min<std::uint64_t>(left, kSendfileChunk));
    ssize_t n = ::sendfile(sfd, f.file->fd(), &off, want);
    if (n > 0) {
      left -= std::uint64_t(n);
      sent += std::uint64_t(n);
      since_yield += std::uint64_t(n);
      if (since_yield >= kSendfileChunk && left > 0) {
        since_yield = 0;
        co_await net::post(c.sock.get_executor(), use_awaitable);
        if (c.closed) co_return false;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await c.sock.async_wait(tcp::socket::wait_write, net::redirect_error(use_awaitable, ec));
      if (ec || c.closed) co_return false;
      continue;
    }
    co_return false;  // error, or the file shrank under us: the peer sees a short body
  }
  co_return true;
}

awaitable<void> Server::Impl::session(std::shared_ptr<Conn> c) {
  beast::flat_buffer buf;
  // The body buffer is allocated for a request with a body and released after it, so an idle
  // or half-sent connection costs no more than its socket and parser.
  constexpr std::size_t kBodyChunk = 256 * 1024;
  std::unique_ptr<char[]> chunk;
  bool first = true;
  while (!c->closed && !draining) {
    boost::system::error_code ec;
    if (buf.size() == 0) buf.shrink_to_fit();  // a large earlier header is not kept while idle
    bhttp::request_parser<bhttp::empty_body> hp;
    hp.header_limit(std::uint32_t(opts.max_header_bytes));
    hp.body_limit(opts.max_body_bytes);
    c->idle = true;
    touch(*c, first ? opts.io_timeout : opts.idle_timeout);
    first = false;
    co_await bhttp::async_read_header(c->sock, buf, hp, net::redirect_error(use_awaitable, ec));
    c->idle = false;
    const auto t0 = Clock::now();

    Request req;
    req.client = c->peer;
    req.request_id = std::to_string(next_id++);
    Response res;
    std::uint64_t received = 0;
    bool have_request = !ec;
    bool keep_alive = false;
    std::string spooled;

    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
          ec == net::error::connection_reset || ec == net::error::bad_descriptor || c->closed || buf.size() == 0)
        break;
      if (ec == bhttp::error::header_limit) {
        res = error_reply(431, "request header exceeds " + std::to_string(opts.max_header_bytes) + " bytes");
      } else if (ec == bhttp::error::body_limit) {
        res = error_reply(413, "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes");
      } else {
        res = error_reply(400, "malformed HTTP request: " + ec.message());
      }
      req.method = "?";
    } else {
      auto& m = hp.get();
      req.method = std::string(m.method_string());
      req.target = std::string(m.target());
      auto absolute = split_absolute_form(req.target);  // "GET http://host/path": RFC 9112 §3.2.2
      if (absolute) req.target = absolute->origin_form;
      auto q = req.target.find('?');
      req.path = req.target.substr(0, q);
      if (q != std::string::npos) req.query = req.target.substr(q + 1);
      for (const auto& f : m) {
        // With an absolute-form target, its authority replaces the Host field (§3.2.2).
        if (absolute && f.name() == bhttp::field::host) continue;
        req.headers.add(std::string(f.name_string()), std::string(f.value()));
      }
      if (absolute) req.headers.add("Host", absolute->authority);
      keep_alive = m.keep_alive();

      bool body_ok = true;
      if (!hp.is_done()) {
        if (auto e = req.headers.get("Expect"); e && iequals(*e, "100-continue")) {
          co_await net::async_write(c->sock, net::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25),
                                    net::redirect_error(use_awaitable, ec));
          if (ec) break;
        }
        bhttp::request_parser<bhttp::buffer_body> bp(std::move(hp));
        chunk.reset(new char[kBodyChunk]);  // uninitialised: only what is read is touched
        Spool spool(opts, !opts.hash_body || opts.hash_body(req));
        while (!bp.is_done()) {
          bp.get().body().data = chunk.get();
          bp.get().body().size = kBodyChunk;
          touch(*c, opts.io_timeout);
          co_await bhttp::async_read(c->sock, buf, bp, net::redirect_error(use_awaitable, ec));
          if (ec == bhttp::error::need_buffer) ec = {};
          std::size_t n = kBodyChunk - bp.get().body().size;
          received += n;
          if (auto w = spool.write(chunk.get(), n); !w) {
            res = error_reply(500, "cannot store request body: " + w.error().message);
            body_ok = false;
            break;
          }
          if (ec) {
            if (ec == bhttp::error::body_limit) {
              res = error_reply(413, "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes");
            } else if (c->closed) {
              res = error_reply(408, "request body not received in time");
            } else {
              res = error_reply(400, "request body ended before its announced length (" + ec.message() + ")");
            }
            body_ok = false;
            break;
          }
        }
        chunk.reset();
        if (body_ok) {
          req.body = spool.finish();
          spooled = req.body.file;
        }
      }
      if (body_ok) {
        // On the handler pool; the connection's deadline does not run meanwhile (the handler
        // may legitimately take long: a commit's ingest, a fill it waits for).
        c->deadline = Clock::time_point::max();
        res = co_await net::co_spawn(
            handlers->get_executor(),
            [this, &req]() -> awaitable<Response> {
              try {
                co_return handler(req);
              } catch (const std::exception& e) {
                co_return error_reply(500, std::string("internal error: ") + e.what());
              }
            },
            use_awaitable);
        touch(*c, opts.io_timeout);
        c->timer.cancel();  // the watchdog re-arms at the new deadline
      }
    }
    if (!spooled.empty()) ::unlink(spooled.c_str());
    if (res.close || draining) keep_alive = false;
    std::uint64_t sent = 0;
    bool ok = c->closed ? false : co_await write_response(*c, req, res, keep_alive, sent);
    if (sink) {
      AccessRecord rec;
      rec.method = req.method;
      rec.path = req.path;
      rec.client = c->peer;
      rec.route = res.route;
      rec.request_id = req.request_id;
      rec.status = ok ? res.status : (res.status < 400 ? 499 : res.status);
      rec.bytes_sent = sent;
      rec.bytes_received = received;
      rec.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      sink(rec);
    }
    if (!ok || !keep_alive || !have_request) break;
  }
  boost::system::error_code ec;
  if (!c->closed) c->sock.shutdown(tcp::socket::shutdown_send, ec);
  c->close();
  {
    std::lock_guard lk(mu);
    conns.erase(c);
  }
  const std::uint64_t now_open = --open;
  release_memory_after_burst(now_open);
  cv.notify_all();
}

void Server::Impl::release_memory_after_burst(std::uint64_t now_open) {
  // A burst of connections leaves their freed frames and buffers with the allocator; once most of
  // them are gone, hand the memory back so that RSS returns to its baseline.
  std::uint64_t peak = peak_open.load();
  if (peak < 256 || now_open > peak / 4) return;
  if (!peak_open.compare_exchange_strong(peak, now_open)) return;
  ::malloc_trim(0);
}

Server::Server(ServerOptions opts, Handler handler, AccessSink sink) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->handler = std::move(handler);
  impl_->sink = std::move(sink);
  if (impl_->opts.threads == 0) impl_->opts.threads = std::max(1u, std::thread::hardware_concurrency());
  if (impl_->opts.handler_threads == 0) impl_->opts.handler_threads = std::max(16u, 4 * impl_->opts.threads);
  impl_->handlers = std::make_unique<net::thread_pool>(impl_->opts.handler_threads);
  for (unsigned i = 0; i < impl_->opts.threads; ++i) {
    impl_->iocs.push_back(std::make_unique<net::io_context>(1));
    impl_->guards.push_back(net::make_work_guard(*impl_->iocs.back()));
  }
  impl_->acceptor_ptr = std::make_unique<tcp::acceptor>(*impl_->iocs[0]);
}

Server::~Server() {
  if (!impl_->threads.empty()) {
    drain();
    wait();
  }
}

namespace {

// The descriptor limit less a reserve for spools, stored files being sent and upstream sockets,
// so that past the cap there is still a descriptor to accept and refuse with.
std::uint64_t default_max_connections() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 20;
  const std::uint64_t n = rl.rlim_cur;
  const std::uint64_t reserve = std::max<std::uint64_t>(64, n / 8);
  return n > reserve + 16 ? n - reserve : 16;
}

}  // namespace

Result<void> Server::start() {
  ::signal(SIGPIPE, SIG_IGN);  // sendfile(2) to a closed peer must not kill the process
  boost::system::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.host, ec);
  if (ec) return fail(Errc::invalid_argument, "bad listen address '" + impl_->opts.host + "': " + ec.message());
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = *impl_->acceptor_ptr;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(Errc::io, "listen on " + impl_->opts.host + ":" + std::to_string(impl_->opts.port) + ": " +
                              ec.message());
  }
  impl_->max_connections = impl_->opts.max_connections ? impl_->opts.max_connections : default_max_connections();
  net::co_spawn(*impl_->iocs[0], impl_->accept_loop(), net::detached);
  for (unsigned i = 0; i < impl_->opts.threads; ++i) {
    impl_->threads.emplace_back([this, i] {
      for (;;) {
        try {
          impl_->iocs[i]->run();
          break;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "hubgate: http worker: %s\n", e.what());
        }
      }
    });
  }
  return {};
}

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor_ptr->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::uint64_t Server::open_connections() const { return impl_->open.load(); }
std::uint64_t Server::refused_connections() const { return impl_->refused.load(); }

void Server::drain() {
  auto& im = *impl_;
  if (im.draining.exchange(true)) return;
  net::post(im.acceptor_ptr->get_executor(), [&im] {
    boost::system::error_code ec;
    im.acceptor_ptr->close(ec);
  });
  {
    std::lock_guard lk(im.mu);
    for (const auto& c : im.conns) {
      net::post(c->sock.get_executor(), [c] {
        if (c->idle) c->close();
      });
    }
  }
  std::unique_lock lk(im.mu);
  im.cv.wait_for(lk, im.opts.drain_grace, [&] { return im.conns.empty(); });
  for (const auto& c : im.conns) net::post(c->sock.get_executor(), [c] { c->close(); });
  lk.unlock();
  im.guards.clear();
  for (auto& ioc : im.iocs) ioc->stop();
}

void Server::wait() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  if (impl_->handlers) {
    impl_->handlers->stop();  // handlers still running finish; nobody waits for their replies
    impl_->handlers->join();
  }
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace hubgate::http
