// PostgreSQL databases for tests, on the server of the ctest fixture `services`
// (HUBGATE_SERVICES_ENV names its env file; tests fail, never skip, without it).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../store/services_env.hpp"
#include "db/db.hpp"
#include "db/pool.hpp"

namespace hubgate::db::testing {

// The server's own database URL (postgresql://…/hubgate).
inline std::string services_database_url() {
  auto env = store::testing::services_env();
  std::string base = env["HUBGATE_DATABASE_URL"];
  if (base.empty()) {
    std::fprintf(stderr, "HUBGATE_SERVICES_ENV must name the env file of scripts/services.sh start\n");
    std::exit(2);
  }
  return base;
}

// Drops (when present) and creates database `hubgate_t_<tag>_<pid>`; returns its URL.
inline std::string fresh_database(const std::string& tag) {
  std::string base = services_database_url();
  std::string name = "hubgate_t_" + tag + "_" + std::to_string(::getpid());
  auto admin = Connection::open(base);
  EXPECT_TRUE(admin) << admin.error().message;
  EXPECT_TRUE((*admin)->exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"));
  EXPECT_TRUE((*admin)->exec("CREATE DATABASE " + name));
  return base.substr(0, base.rfind('/') + 1) + name;
}

// Drops the database of a `fresh_database(tag)` call of this process.
inline void drop_database(const std::string& tag) {
  auto admin = Connection::open(services_database_url());
  if (admin) (void)(*admin)->exec("DROP DATABASE IF EXISTS hubgate_t_" + tag + "_" + std::to_string(::getpid()) +
                                  " WITH (FORCE)");
}

// A pool on database `hubgate_t_<tag>_<pid>`: with `fresh` the database is created empty and
// migrated first (as `serve --database` does), else the existing one is opened (a second node).
inline Result<std::shared_ptr<Pool>> test_pool(const std::string& tag, bool fresh, std::size_t connections = 4) {
  std::string url;
  if (fresh) {
    url = fresh_database(tag);
    HG_TRY(auto c, Connection::open(url));
    HG_TRY_VOID(migrate(*c));
  } else {
    auto base = services_database_url();
    url = base.substr(0, base.rfind('/') + 1) + "hubgate_t_" + tag + "_" + std::to_string(::getpid());
  }
  return Pool::open(url, connections);
}

}  // namespace hubgate::db::testing
