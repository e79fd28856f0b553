// libpq wrapper and the migration runner. Results are copied out as text (PQexecParams with
// text format) and every PGresult is cleared before returning. migrate() takes
// pg_advisory_lock(kMigrationLock) for its whole run, reads the applied versions, then applies
// each missing step as BEGIN; <step>; INSERT INTO hubgate_schema_migrations; COMMIT.
#include "db/db.hpp"

#include <libpq-fe.h>

#include <set>

namespace hubgate::db {

namespace {

constexpr const char* kMigrationLock = "7242104934618261";  // pg_advisory_lock key ("hubgate")

Error pg_error(PGconn* c, const PGresult* r, std::string_view what) {
  std::string state = r ? (PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "") : "";
  std::string msg = std::string(what) + ": " + (r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (PQstatus(c) != CONNECTION_OK || state.starts_with("08") || state == "57P01")
    return Error(Errc::unavailable, "database unavailable: " + msg);
  if (state == "40001" || state == "40P01" || state == "23505") return Error(Errc::conflict, msg);
  return Error(Errc::invalid_argument, msg);
}

// Steps of the schema. Never edit a released step; add a new one.
const std::vector<Migration> kMigrations = {
    {1, "cluster members",
     "CREATE TABLE cluster_members ("
     "  id TEXT PRIMARY KEY,"              // a node's identity (random at start)
     "  advertise_url TEXT NOT NULL,"      // where the other nodes reach it (--advertise)
     "  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
     "  heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now());"
     "CREATE INDEX cluster_members_heartbeat ON cluster_members (heartbeat_at);"},
    {2, "fill leases",
     "CREATE TABLE fill_leases ("
     "  key TEXT PRIMARY KEY,"              // the object an upstream fill produces: s3://bucket/prefix/blobs/<sha256>
     "  owner TEXT NOT NULL,"               // cluster_members.id of the node fetching it from upstream
     "  expires_at TIMESTAMPTZ NOT NULL);"  // renewed by the owner's heartbeat; past it, any node may take over
     "CREATE INDEX fill_leases_owner ON fill_leases (owner);"},
};

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (!c) return fail(Errc::internal, "libpq: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(c);
    return fail(Errc::unavailable, "database unavailable: " + msg);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // NOTICEs are not errors: keep stderr quiet
  return std::unique_ptr<Connection>(new Connection(c));
}

Connection::~Connection() { PQfinish(conn_); }

Result<void> Connection::exec(std::string_view sql) {
  std::string s(sql);
  PGresult* r = PQexec(conn_, s.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error e = pg_error(conn_, r, "sql");
    PQclear(r);
    return fail(std::move(e));
  }
  PQclear(r);
  return {};
}

Result<std::vector<Row>> Connection::query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(conn_, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error e = pg_error(conn_, r, "sql");
    PQclear(r);
    return fail(std::move(e));
  }
  std::vector<Row> rows;
  int n = PQntuples(r), m = PQnfields(r);
  rows.reserve(std::size_t(n));
  for (int i = 0; i < n; ++i) {
    Row row;
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(r, i, j)) row.emplace_back(std::nullopt);
      else row.emplace_back(std::string(PQgetvalue(r, i, j), std::size_t(PQgetlength(r, i, j))));
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

const std::vector<Migration>& migrations() { return kMigrations; }

Result<int> schema_version(Connection& c) {
  HG_TRY(auto rows, c.query("SELECT to_regclass('hubgate_schema_migrations') IS NOT NULL"));
  if (rows.empty() || rows[0][0] != std::optional<std::string>("t")) return 0;
  HG_TRY(auto v, c.query("SELECT COALESCE(MAX(version), 0) FROM hubgate_schema_migrations"));
  return std::stoi(v.at(0).at(0).value_or("0"));
}

Result<std::vector<int>> migrate(Connection& c) {
  HG_TRY_VOID(c.query(std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")"));
  auto run = [&]() -> Result<std::vector<int>> {
    HG_TRY_VOID(c.exec("CREATE TABLE IF NOT EXISTS hubgate_schema_migrations ("
                       " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
    HG_TRY(auto rows, c.query("SELECT version FROM hubgate_schema_migrations"));
    std::set<int> have;
    for (auto& r : rows) have.insert(std::stoi(r.at(0).value_or("0")));
    std::vector<int> applied;
    for (const auto& m : kMigrations) {
      if (have.count(m.version)) continue;
      HG_TRY_VOID(c.exec("BEGIN"));
      auto step = c.exec(m.sql);
      if (step) {
        auto rec = c.query("INSERT INTO hubgate_schema_migrations (version, name) VALUES ($1, $2)",
                           {std::to_string(m.version), m.name});
        if (!rec) step = fail(rec.error());
      }
      if (step) step = c.exec("COMMIT");
      if (!step) {
        (void)c.exec("ROLLBACK");
        return fail(step.error().context("migration " + std::to_string(m.version) + " (" + m.name + ")"));
      }
      applied.push_back(m.version);
    }
    return applied;
  };
  auto out = run();
  (void)c.query(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
  return out;
}

}  // namespace hubgate::db
