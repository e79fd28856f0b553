// XetIndex: a thin SQLite table (see the header for the format). Reads use prepared
// statements per call; commit() wraps all rows of one fill in a single transaction.
#include "upstream/xet_index.hpp"

#include <sqlite3.h>

#include <cstring>

namespace hubgate::upstream {

namespace {

constexpr const char* kSchema = R"(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS xet_chunks(xorb BLOB NOT NULL, idx INTEGER NOT NULL, chunk BLOB NOT NULL,
                                      offset INTEGER, length INTEGER, PRIMARY KEY(xorb, idx)) WITHOUT ROWID;
)";

Error db_error(sqlite3* db, const char* what) {
  return Error(Errc::io, std::string("xet index: ") + what + ": " + sqlite3_errmsg(db));
}

struct Stmt {
  sqlite3_stmt* st = nullptr;
  ~Stmt() { sqlite3_finalize(st); }
};

XetIndexRow row_of(sqlite3_stmt* st, const xet::MerkleHash& xorb) {
  XetIndexRow r;
  r.xorb = xorb;
  r.index = static_cast<std::uint32_t>(sqlite3_column_int64(st, 0));
  const void* c = sqlite3_column_blob(st, 1);
  if (c && sqlite3_column_bytes(st, 1) == 32) std::memcpy(r.chunk.bytes.data(), c, 32);
  if (sqlite3_column_type(st, 2) != SQLITE_NULL) r.offset = static_cast<std::uint64_t>(sqlite3_column_int64(st, 2));
  if (sqlite3_column_type(st, 3) != SQLITE_NULL) r.length = static_cast<std::uint32_t>(sqlite3_column_int64(st, 3));
  return r;
}

}  // namespace

Result<std::unique_ptr<XetIndex>> XetIndex::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::io, "xet index " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return fail(Errc::io, "xet index " + path + ": " + msg);
  }
  return std::unique_ptr<XetIndex>(new XetIndex(db));
}

XetIndex::~XetIndex() { sqlite3_close(db_); }

std::optional<XetIndexRow> XetIndex::get(const xet::MerkleHash& xorb, std::uint32_t index) const {
  auto rows = range(xorb, index, index + 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<XetIndexRow> XetIndex::range(const xet::MerkleHash& xorb, std::uint32_t start, std::uint32_t end) const {
  std::vector<XetIndexRow> out;
  if (start >= end) return out;
  std::lock_guard lock(mu_);
  Stmt s;
  if (sqlite3_prepare_v2(db_, "SELECT idx, chunk, offset, length FROM xet_chunks WHERE xorb=? AND idx>=? AND idx<? ORDER BY idx",
                         -1, &s.st, nullptr) != SQLITE_OK)
    return out;
  sqlite3_bind_blob(s.st, 1, xorb.bytes.data(), 32, SQLITE_STATIC);
  sqlite3_bind_int64(s.st, 2, start);
  sqlite3_bind_int64(s.st, 3, end);
  while (sqlite3_step(s.st) == SQLITE_ROW) out.push_back(row_of(s.st, xorb));
  return out;
}

Result<void> XetIndex::commit(std::span<const XetIndexRow> rows) {
  if (rows.empty()) return {};
  std::lock_guard lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return fail(db_error(db_, "begin"));
  Stmt s;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO xet_chunks(xorb, idx, chunk, offset, length) VALUES(?,?,?,?,?)", -1, &s.st,
                         nullptr) != SQLITE_OK) {
    Error e = db_error(db_, "prepare");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail(e);
  }
  for (const auto& r : rows) {
    sqlite3_reset(s.st);
    sqlite3_bind_blob(s.st, 1, r.xorb.bytes.data(), 32, SQLITE_STATIC);
    sqlite3_bind_int64(s.st, 2, r.index);
    sqlite3_bind_blob(s.st, 3, r.chunk.bytes.data(), 32, SQLITE_STATIC);
    if (r.offset) sqlite3_bind_int64(s.st, 4, static_cast<std::int64_t>(*r.offset));
    else sqlite3_bind_null(s.st, 4);
    if (r.length) sqlite3_bind_int64(s.st, 5, *r.length);
    else sqlite3_bind_null(s.st, 5);
    if (sqlite3_step(s.st) != SQLITE_DONE) {
      Error e = db_error(db_, "insert");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail(e);
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = db_error(db_, "commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail(e);
  }
  return {};
}

std::uint64_t XetIndex::size() const {
  std::lock_guard lock(mu_);
  Stmt s;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM xet_chunks", -1, &s.st, nullptr) != SQLITE_OK) return 0;
  if (sqlite3_step(s.st) != SQLITE_ROW) return 0;
  return static_cast<std::uint64_t>(sqlite3_column_int64(s.st, 0));
}

}  // namespace hubgate::upstream
