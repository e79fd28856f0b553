// A database of its own for a test, on the PostgreSQL of the ctest fixture `services`.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../store/services_env.hpp"
#include "db/db.hpp"

namespace hubgate::db::testing {

// A fresh database named after `tag` and the process; returns its URL.
inline std::string fresh_database(const std::string& tag) {
  auto env = store::testing::services_env();
  std::string base = env["HUBGATE_DATABASE_URL"];
  if (base.empty()) {
    std::fprintf(stderr, "HUBGATE_SERVICES_ENV must name the env file of scripts/services.sh start\n");
    std::exit(2);
  }
  std::string name = "hubgate_t_" + tag + "_" + std::to_string(::getpid());
  auto admin = Connection::open(base);
  EXPECT_TRUE(admin) << admin.error().message;
  EXPECT_TRUE((*admin)->exec("DROP DATABASE IF EXISTS " + name));
  EXPECT_TRUE((*admin)->exec("CREATE DATABASE " + name));
  return base.substr(0, base.rfind('/') + 1) + name;
}

}  // namespace hubgate::db::testing
