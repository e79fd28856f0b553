// Starts tests/upstream/fake_upstream.py (a misbehaving Hub-shaped upstream) for one test suite.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "upstream/client.hpp"

extern char** environ;

namespace hubgate::upstream::testing {

class FakeUpstream {
 public:
  explicit FakeUpstream(std::uint64_t big_size = 1 << 20) {
    std::string port_file = dir_.str() + "/port";
    std::string big = std::to_string(big_size);
    const char* argv[] = {"python3", FAKE_UPSTREAM_SCRIPT, "--port-file", port_file.c_str(), "--big-size", big.c_str(), nullptr};
    if (posix_spawnp(&pid_, "python3", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) pid_ = -1;
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      std::ifstream in(port_file);
      if (in >> port_ >> cdn_port_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~FakeUpstream() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  bool ok() const { return port_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void control(const nlohmann::json& j) {
    HttpRequest r;
    r.method = "POST";
    r.url = url() + "/_control";
    r.body = j.dump();
    r.headers.emplace_back("Content-Type", "application/json");
    (void)client_.send(r);
  }
  void reset() { control({{"faults", nlohmann::json::object()}, {"main", 0}, {"lfs_redirect", true}, {"reset_stats", true}}); }
  nlohmann::json stats() {
    HttpRequest r;
    r.url = url() + "/_stats";
    auto resp = client_.send(r);
    if (!resp) return nlohmann::json::object();
    return nlohmann::json::parse(resp->body, nullptr, false);
  }
  int body_requests(const std::string& path) {
    auto s = stats();
    return s["body_requests"].contains(path) ? s["body_requests"][path].get<int>() : 0;
  }
  int head_requests(const std::string& path) {
    auto s = stats();
    return s["head_requests"].contains(path) ? s["head_requests"][path].get<int>() : 0;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0, cdn_port_ = 0;
  Client client_;
};

// A loopback port with nothing listening (bound, then closed).
inline int dead_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

}  // namespace hubgate::upstream::testing
