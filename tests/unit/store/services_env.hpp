// Access to the engines started by the ctest fixture `services` (scripts/services.sh; its
// DIR/env file is named by HUBGATE_SERVICES_ENV). Tests that need them fail, never skip, when
// the variable is missing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "store/s3_client.hpp"

namespace hubgate::store::testing {

inline std::map<std::string, std::string> services_env() {
  std::map<std::string, std::string> out;
  const char* path = std::getenv("HUBGATE_SERVICES_ENV");
  if (!path) return out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// An S3Config for the fixture's SeaweedFS, under a prefix of its own (`tag` + the process id),
// so that tests never see each other's objects. Small multipart sizes (S3's 5 MiB minimum).
inline S3Config services_s3(const std::string& tag) {
  auto env = services_env();
  S3Config c;
  if (!env.count("HUBGATE_STORE") || !parse_s3_url(env["HUBGATE_STORE"], c)) {
    // Every later step would dereference failed results: stop the test binary with the reason.
    std::fprintf(stderr, "HUBGATE_SERVICES_ENV must name the env file written by `scripts/services.sh start DIR` "
                         "(ctest's fixture 'services' sets it)\n");
    std::exit(2);
  }
  c.prefix += "/unit-" + tag + "-" + std::to_string(::getpid());
  c.endpoint = env["HUBGATE_S3_ENDPOINT"];
  c.region = env["AWS_REGION"];
  c.access_key = env["AWS_ACCESS_KEY_ID"];
  c.secret_key = env["AWS_SECRET_ACCESS_KEY"];
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  c.backoff_base = std::chrono::milliseconds(20);
  return c;
}

}  // namespace hubgate::store::testing
