// serve_load HOST PORT PATH CLIENTS EXPECTED_BYTES
// Starts CLIENTS threads; each opens one connection, GETs PATH (Connection: close) and reads
// the whole reply into a reused 1 MiB buffer. Prints "<seconds> <total body bytes>" where the
// time runs from the first connect to the last byte. Exits 1 if any reply is short or not 200.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: serve_load HOST PORT PATH CLIENTS EXPECTED_BYTES\n");
    return 2;
  }
  std::string host = argv[1], path = argv[3];
  int port = std::atoi(argv[2]), clients = std::atoi(argv[4]);
  unsigned long long expected = std::strtoull(argv[5], nullptr, 10);
  std::atomic<unsigned long long> total{0};
  std::atomic<int> failures{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int i = 0; i < clients; ++i) {
    ts.emplace_back([&] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(std::uint16_t(port));
      inet_pton(AF_INET, host.c_str(), &a.sin_addr);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        failures++;
        return;
      }
      std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
      if (::send(fd, req.data(), req.size(), 0) != ssize_t(req.size())) failures++;
      std::vector<char> buf(1 << 20);
      std::string head;
      bool in_body = false;
      unsigned long long body = 0;
      for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        if (!in_body) {
          head.append(buf.data(), std::size_t(n));
          auto he = head.find("\r\n\r\n");
          if (he == std::string::npos) continue;
          if (head.compare(0, 12, "HTTP/1.1 200") != 0) failures++;
          body += head.size() - he - 4;
          in_body = true;
        } else {
          body += std::size_t(n);
        }
      }
      ::close(fd);
      if (body != expected) failures++;
      total += body;
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.4f %llu\n", secs, total.load());
  return failures ? 1 : 0;
}
