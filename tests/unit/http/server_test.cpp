// In-process tests of http::Server over loopback with raw sockets: keep-alive, bodies spooled to
// a file and hashed, sendfile slices, producer bodies (chunked), oversized headers, short bodies.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "crypto/sha.hpp"
#include "http/server.hpp"

using namespace hubgate;
using namespace hubgate::http;

namespace {

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(std::size_t(n));
  }
}

// Reads one response (head + Content-Length body, or chunked until the 0-chunk); bytes of a
// following pipelined response stay in `pending` for the next call. `head_only`: no body.
std::map<int, std::string> pending;
std::string read_response(int fd, bool head_only = false) {
  std::string& buf = pending[fd];
  char tmp[65536];
  for (;;) {
    auto he = buf.find("\r\n\r\n");
    if (he != std::string::npos) {
      std::string head = buf.substr(0, he);
      std::size_t end = std::string::npos;
      auto cl = head.find("Content-Length: ");
      if (head_only) {
        end = he + 4;
      } else if (cl != std::string::npos) {
        std::size_t n = std::stoull(head.substr(cl + 16));
        if (buf.size() >= he + 4 + n) end = he + 4 + n;
      } else if (head.find("chunked") != std::string::npos) {
        auto z = buf.find("\r\n0\r\n\r\n", he);
        if (z != std::string::npos) end = z + 7;
      } else {
        end = buf.size();
      }
      if (end != std::string::npos) {
        std::string out = buf.substr(0, end);
        buf.erase(0, end);
        return out;
      }
    }
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
      std::string out = buf;
      buf.clear();
      return out;
    }
    buf.append(tmp, std::size_t(n));
  }
}

class StringProducer : public BodyProducer {
 public:
  explicit StringProducer(std::vector<std::string> parts) : parts_(std::move(parts)) {}
  void pull(std::function<void(Chunk)> deliver) override {
    Chunk c;
    if (i_ < parts_.size()) {
      c.data = parts_[i_++];
    } else {
      c.end = true;
    }
    // Deliver from another thread, as a cache fill would.
    std::thread([deliver, c] { deliver(c); }).detach();
  }

 private:
  std::vector<std::string> parts_;
  std::size_t i_ = 0;
};

class ChunkProducer : public BodyProducer {
 public:
  explicit ChunkProducer(std::vector<Chunk> chunks) : chunks_(std::move(chunks)) {}
  void pull(std::function<void(Chunk)> deliver) override {
    Chunk c = chunks_.at(i_++);
    std::thread([deliver, c] { deliver(c); }).detach();
  }

 private:
  std::vector<Chunk> chunks_;
  std::size_t i_ = 0;
};

struct ServerTest : ::testing::Test {
  std::string dir;
  std::unique_ptr<Server> server;
  std::atomic<int> handled{0};
  RequestBody last_body;
  std::string last_body_content;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("hubgate-http-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.spool_dir = dir;
    o.memory_body_limit = 1024;
    o.max_header_bytes = 4096;
    o.io_timeout = std::chrono::seconds(3);
    o.hash_body = [](const Request& r) { return r.query != "nohash"; };
    server = std::make_unique<Server>(o, [this](Request& r) { return handle(r); });
    ASSERT_TRUE(server->start());
  }
  void TearDown() override {
    server->drain();
    server->wait();
    std::filesystem::remove_all(dir);
  }

  Response handle(Request& r) {
    ++handled;
    if (r.path == "/echo") {
      last_body = r.body;
      last_body_content = *r.body.read_all(1 << 30);
      return text_response(200, r.body.sha256 + " " + std::to_string(r.body.size) + (r.body.in_file() ? " file" : " mem"));
    }
    if (r.path == "/file") {
      std::string p = dir + "/f.bin";
      FILE* f = std::fopen(p.c_str(), "wb");
      std::fputs("0123456789", f);
      std::fclose(f);
      Response res;
      res.body = FileBody{*FileHandle::open(p), 2, 5};
      return res;
    }
    if (r.path == "/produce-file" || r.path == "/produce-file-len") {
      // Bytes in memory, then file slices (sent with sendfile), as a cache fill produces them.
      std::string p = dir + "/g.bin";
      FILE* f = std::fopen(p.c_str(), "wb");
      std::fputs("abcdefghijklmnopqrstuvwxyz", f);
      std::fclose(f);
      auto fh = *FileHandle::open(p);
      std::vector<Chunk> chunks(3);
      chunks[0].data = "01";
      chunks[1].file = FileBody{fh, 2, 3};
      chunks[2].data = "-";
      chunks[2].file = FileBody{fh, 20, 6};
      chunks[2].end = true;
      Response res;
      res.body = std::shared_ptr<BodyProducer>(new ChunkProducer(std::move(chunks)));
      if (r.path == "/produce-file-len") res.producer_length = 12;
      return res;
    }
    if (r.path == "/produce") {
      Response res;
      res.body = std::shared_ptr<BodyProducer>(new StringProducer({"hello ", "", "world"}));
      return res;
    }
    return text_response(404, "no");
  }
};

}  // namespace

TEST_F(ServerTest, KeepAliveTwoRequests) {
  int fd = connect_to(server->port());
  send_all(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r1 = read_response(fd);
  EXPECT_TRUE(r1.starts_with("HTTP/1.1 404")) << r1;
  std::string r2 = read_response(fd);
  EXPECT_TRUE(r2.starts_with("HTTP/1.1 404")) << r2;
  ::close(fd);
  EXPECT_EQ(handled.load(), 2);
}

TEST_F(ServerTest, SmallBodyInMemoryLargeSpooled) {
  int fd = connect_to(server->port());
  std::string small = "abc";
  send_all(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
  std::string r = read_response(fd);
  EXPECT_NE(r.find(crypto::sha256_hex(small) + " 3 mem"), std::string::npos) << r;
  std::string big(300000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  send_all(fd, "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  r = read_response(fd);
  EXPECT_NE(r.find(crypto::sha256_hex(big) + " 300000 file"), std::string::npos) << r;
  EXPECT_EQ(last_body_content, big);
  EXPECT_FALSE(std::filesystem::exists(last_body.file));  // spool removed after the request
  ::close(fd);
}

TEST_F(ServerTest, BodyHashIsSkippedWhereTheRouteDoesNotNeedIt) {
  int fd = connect_to(server->port());
  std::string big(300000, 'y');
  send_all(fd, "PUT /echo?nohash HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  std::string r = read_response(fd);
  EXPECT_NE(r.find("\r\n\r\n 300000 file"), std::string::npos) << r;  // empty sha256
  EXPECT_EQ(last_body_content, big);
  send_all(fd, "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  r = read_response(fd);
  EXPECT_NE(r.find(crypto::sha256_hex(big) + " 300000 file"), std::string::npos) << r;
  ::close(fd);
}

TEST_F(ServerTest, ChunkedRequestBody) {
  int fd = connect_to(server->port());
  send_all(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_NE(r.find(crypto::sha256_hex("abcde") + " 5 mem"), std::string::npos) << r;
  ::close(fd);
}

TEST_F(ServerTest, FileSliceWithSendfile) {
  int fd = connect_to(server->port());
  send_all(fd, "GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n23456")) << r;
  send_all(fd, "HEAD /file HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  r = read_response(fd, true);  // HEAD: length announced, no body
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
  EXPECT_TRUE(read_response(fd).starts_with("HTTP/1.1 404"));  // no stray body bytes in between
  ::close(fd);
}

TEST_F(ServerTest, ProducerBodyIsChunked) {
  int fd = connect_to(server->port());
  send_all(fd, "GET /produce HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"), std::string::npos) << r;
  ::close(fd);
}

TEST_F(ServerTest, ProducerFileSlicesChunkedAndWithLength) {
  int fd = connect_to(server->port());
  send_all(fd, "GET /produce-file HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_NE(r.find("\r\n2\r\n01\r\n3\r\ncde\r\n7\r\n-uvwxyz\r\n0\r\n\r\n"), std::string::npos) << r;
  send_all(fd, "GET /produce-file-len HTTP/1.1\r\nHost: a\r\n\r\n");
  r = read_response(fd);
  EXPECT_NE(r.find("Content-Length: 12\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n01cde-uvwxyz")) << r;
  ::close(fd);
}

TEST_F(ServerTest, OversizedHeaderGets431) {
  int fd = connect_to(server->port());
  send_all(fd, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431")) << r.substr(0, 100);
  EXPECT_NE(r.find("X-Error-Message:"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, MalformedRequestGets400) {
  int fd = connect_to(server->port());
  send_all(fd, "GARBAGE\r\n\r\n");
  std::string r = read_response(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400")) << r;
  ::close(fd);
}

TEST_F(ServerTest, ShortBodyIsRejectedAndServerKeepsServing) {
  int fd = connect_to(server->port());
  send_all(fd, "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-some");
  ::shutdown(fd, SHUT_WR);
  std::string r = read_response(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400")) << r;
  ::close(fd);
  EXPECT_EQ(handled.load(), 0);  // the handler never saw a partial body
  int fd2 = connect_to(server->port());
  send_all(fd2, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(read_response(fd2).starts_with("HTTP/1.1 404"));
  ::close(fd2);
  // Nothing left in the spool folder.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

// Handlers run apart from the event loop: with one event-loop thread, a handler that blocks does
// not hold up another connection's request, and its own connection is not timed out meanwhile
// (the wait is longer than io_timeout).
TEST(ServerHandlers, ABlockingHandlerStallsNeitherOthersNorItsOwnReply) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.io_timeout = std::chrono::seconds(1);
  Server server(o, [released](Request& r) {
    if (r.path == "/block") released.wait();
    return text_response(200, r.path);
  });
  ASSERT_TRUE(server.start());
  int a = connect_to(server.port());
  send_all(a, "GET /block HTTP/1.1\r\nHost: a\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // /block is now in its handler
  int b = connect_to(server.port());
  send_all(b, "GET /fast HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string rb = read_response(b);
  EXPECT_TRUE(rb.starts_with("HTTP/1.1 200")) << rb;
  EXPECT_TRUE(rb.ends_with("/fast")) << rb;
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // past io_timeout
  release.set_value();
  std::string ra = read_response(a);
  EXPECT_TRUE(ra.starts_with("HTTP/1.1 200")) << ra;
  EXPECT_TRUE(ra.ends_with("/block")) << ra;
  ::close(a);
  ::close(b);
  server.drain();
  server.wait();
}

// Past max_connections a new connection is answered 503 TooManyConnections and closed; the open
// ones keep working, and once one closes a new connection is served again.
TEST(ServerLimits, ConnectionsPastTheCapAreRefusedCleanly) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.max_connections = 3;
  Server server(o, [](Request& r) { return text_response(200, r.path); });
  ASSERT_TRUE(server.start());
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_to(server.port()));
  for (int i = 0; i < 100 && server.open_connections() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(server.open_connections(), 3u);
  for (int i = 0; i < 2; ++i) {
    int extra = connect_to(server.port());
    std::string r = read_response(extra);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 503")) << r;
    EXPECT_NE(r.find("X-Error-Code: TooManyConnections"), std::string::npos) << r;
    EXPECT_NE(r.find("Retry-After: 1"), std::string::npos) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    ::close(extra);
  }
  EXPECT_EQ(server.refused_connections(), 2u);
  send_all(held[0], "GET /still HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = read_response(held[0]);
  EXPECT_TRUE(r.ends_with("/still")) << r;
  ::close(held[1]);
  for (int i = 0; i < 200 && server.open_connections() > 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int again = connect_to(server.port());
  send_all(again, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n");
  r = read_response(again);
  EXPECT_TRUE(r.ends_with("/again")) << r;
  for (int fd : {held[0], held[2], again}) ::close(fd);
  server.drain();
  server.wait();
}

namespace {
std::uint64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * std::uint64_t(::sysconf(_SC_PAGESIZE));
}
}  // namespace

// An idle connection that sent half a request header costs its socket and parser, not a body
// buffer: 1,000 of them stay within 16 KB each of resident memory (a 256 KiB body buffer each
// would be 250 MB), and each still gets its reply once the header is completed.
TEST(ServerLimits, HalfSentHeadersCostLittleMemory) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  Server server(o, [](Request& r) { return text_response(200, r.path); });
  ASSERT_TRUE(server.start());
  // Both ends live in this process: raise the descriptor limit as far as the hard limit allows.
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  const int kConns = int(std::min<rlim_t>(1000, (rl.rlim_cur - 200) / 2));
  ASSERT_GE(kConns, 300) << "descriptor limit too low for this test: " << rl.rlim_cur;
  std::vector<int> fds;
  // Warm up allocator arenas and the strand pool before the baseline.
  for (int i = 0; i < 20; ++i) fds.push_back(connect_to(server.port()));
  for (int fd : fds) send_all(fd, "GET /x HTTP/1.1\r\nHost: a\r\n");
  for (int i = 0; i < 200 && server.open_connections() < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t before = resident_bytes();
  for (int i = 0; i < kConns; ++i) {
    int fd = connect_to(server.port());
    send_all(fd, "GET /half HTTP/1.1\r\nHost: a\r\nX-Pad: ");
    fds.push_back(fd);
  }
  for (int i = 0; i < 500 && server.open_connections() < std::uint64_t(kConns + 20); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(server.open_connections(), std::uint64_t(kConns + 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::uint64_t after = resident_bytes();
  const double per_conn = double(after > before ? after - before : 0) / kConns;
  // The test process holds the client ends too (kernel memory, not RSS); the bound is generous.
  EXPECT_LT(per_conn, 16.0 * 1024) << "resident bytes per idle connection: " << per_conn;
  RecordProperty("resident_bytes_per_idle_connection", int(per_conn));
  for (std::size_t i = 20; i < fds.size(); i += 97) {
    send_all(fds[i], "1\r\n\r\n");
    std::string r = read_response(fds[i]);
    EXPECT_TRUE(r.ends_with("/half")) << r;
  }
  for (int fd : fds) ::close(fd);
  server.drain();
  server.wait();
}
