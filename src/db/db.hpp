// db: cluster mode's metadata database (PostgreSQL through libpq, from Debian).
//
// `Connection` is one libpq connection with value errors: `exec` runs statements without
// results, `query` runs one parameterised statement ($1, $2, … bound as text; never spliced into
// the SQL) and returns its rows as text (NULL = nullopt). Errors: Errc::unavailable when the
// server cannot be reached or the connection broke, Errc::conflict for serialization failures and
// unique violations (SQLSTATE 40001, 40P01, 23505), Errc::invalid_argument for other SQL errors.
// Not thread-safe: one connection per thread (`db::Pool`, db/pool.hpp, shares a few among threads).
//
// Schema migrations: `migrations()` is the ordered list of versioned steps (a released step is
// never edited; changes are new steps). `migrate()` applies the ones not yet recorded in
// `hubgate_schema_migrations`, each in its own transaction together with its record, under a
// session advisory lock, so several nodes starting at once apply each step exactly once.
// `hubgate db migrate --database URL` runs it by hand; `serve --database URL` runs it at start.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

struct pg_conn;

namespace hubgate::db {

using Row = std::vector<std::optional<std::string>>;

class Connection {
 public:
  // `url`: postgresql://user[:password]@host[:port]/dbname[?…] (libpq's URI syntax).
  static Result<std::unique_ptr<Connection>> open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<void> exec(std::string_view sql);
  Result<std::vector<Row>> query(const std::string& sql, const std::vector<std::string>& params = {});
  // False once the connection to the server is lost or a transaction was left open (a pool then
  // drops it and opens a new one).
  bool healthy() const;

 private:
  explicit Connection(pg_conn* c) : conn_(c) {}
  pg_conn* conn_;
};

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& migrations();
// The versions applied by this call, ascending (empty when the schema was current).
Result<std::vector<int>> migrate(Connection& c);
// The highest applied version (0 for an empty database).
Result<int> schema_version(Connection& c);

}  // namespace hubgate::db
