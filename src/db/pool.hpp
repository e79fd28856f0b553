// db::Pool: a few libpq connections shared by the threads of one process.
//
// `acquire` hands out an idle connection, opens a new one while fewer than `max` exist, or waits
// for one to be returned. A `Lease` gives its connection back when destroyed; a connection that
// is no longer healthy (server gone, transaction left open) is closed instead, and then every
// idle one too (they were opened before the same outage), so the pool recovers after a restart
// of the server as soon as it answers again. While the server is down `acquire` fails at once
// with Errc::unavailable.
//
// `transaction(f)` runs `f(Connection&)` between BEGIN and COMMIT on one leased connection;
// when `f` fails (or COMMIT does) the transaction is rolled back and the error returned. A BEGIN
// that finds its connection lost is retried once on a new connection (nothing was sent yet).
// Statement errors other than unavailable/conflict become Errc::io (a server-side failure,
// not the caller's input): `sql_error`.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace hubgate::db {

// Errc::unavailable and Errc::conflict kept; other statement errors -> Errc::io.
Error sql_error(const Error& e);

// `head` ("INSERT INTO t" or "INSERT INTO t (a, b)") VALUES (…), (…) … ON CONFLICT DO NOTHING for
// `rows` of `width` values each, in batches under PostgreSQL's parameter limit; errors as
// sql_error.
Result<void> insert_rows(Connection& c, const std::string& head, std::size_t width,
                         const std::vector<std::vector<std::string>>& rows);

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  // Opens one connection now, so a wrong URL or a server that is down fails here.
  static Result<std::shared_ptr<Pool>> open(const std::string& url, std::size_t max = 8);

  class Lease {
   public:
    Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> c) : pool_(std::move(pool)), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    Connection& operator*() { return *c_; }
    Connection* operator->() { return c_.get(); }

   private:
    std::shared_ptr<Pool> pool_;
    std::unique_ptr<Connection> c_;
  };

  Result<Lease> acquire();
  const std::string& url() const { return url_; }

  template <class F>
  auto transaction(F&& f) -> decltype(f(std::declval<Connection&>())) {
    HG_TRY(auto c, acquire());
    if (auto b = c->exec("BEGIN"); !b) {
      if (b.error().code != Errc::unavailable) return fail(sql_error(b.error()));
      // An idle connection the server dropped (restart): nothing was done yet, try a new one.
      { Lease lost = std::move(c); }
      HG_TRY(auto fresh, acquire());
      c = std::move(fresh);
      if (auto again = c->exec("BEGIN"); !again) return fail(sql_error(again.error()));
    }
    auto r = f(*c);
    if (r) {
      if (auto done = c->exec("COMMIT"); !done) {
        (void)c->exec("ROLLBACK");
        return fail(sql_error(done.error()));
      }
    } else {
      (void)c->exec("ROLLBACK");
    }
    return r;
  }

 private:
  Pool(std::string url, std::size_t max) : url_(std::move(url)), max_(max) {}
  void give_back(std::unique_ptr<Connection> c);

  std::string url_;
  std::size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections that exist (idle or leased)
};

}  // namespace hubgate::db
