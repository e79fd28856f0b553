// audit::Log — the append-only decision log of the security gate and of repository writes.
//
// Every decision the gateway takes about content is one `Record`: a scan verdict, a blocked
// download or upload, a policy exception that let something through, a warning served, a
// signature decision (written by src/sign's gateway hook). Every write to a hosted repository
// (commit, branch, tag, settings, move, delete, pull request, ...) is a `repo` record naming the
// token that made it. Records are never updated or deleted
// by hubgate; `id` grows monotonically with appends.
//
// Storage: one SQLite database (WAL, synchronous=NORMAL: an append is durable once the WAL is
// checkpointed or the OS flushes; a crash can lose the last few records but never corrupts the
// log), usually `<data-dir>/audit.db`. Schema (version 1):
//   audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INT, repo TEXT, revision TEXT, path TEXT,
//         sha256 TEXT, client TEXT, remote TEXT, kind TEXT, decision TEXT, reason TEXT)
//   indexes on (repo, time_ms) and (time_ms).
// `kind` is stored as its name (stable text, see kind_name), so values never need renumbering.
// Several processes may open the same file (the server appends, `hubgate audit` reads).
//
// Thread-safety: Log is thread-safe (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace hubgate::db {
class Pool;
}

namespace hubgate::audit {

// What kind of decision a record is. Persisted by name: names never change.
enum class Kind {
  scan,       // a content scan produced a verdict (decision = safe|suspicious|dangerous|error)
  block,      // a download, upload or fill was refused (decision = "blocked")
  exception,  // a policy exception let blocked content through (decision = "allowed")
  warn,       // content was served with a warning (decision = "served-with-warning")
  signature,  // a signature decision (decision = serve|SignatureRequired|SignatureInvalid|...)
  repo,       // a repository write (decision = the action: commit, create_branch, delete_repo, ...)
};
const char* kind_name(Kind k);
std::optional<Kind> kind_from_name(std::string_view s);

struct Record {
  std::int64_t id = 0;       // assigned by append()
  std::int64_t time_ms = 0;  // unix milliseconds; 0 on append() means "now"
  std::string repo;          // qualified repository ("ns/name", "datasets/ns/name"); empty for content-level events
  std::string revision;      // commit sha or ref name, when known
  std::string path;          // file path in the repository, when known
  std::string sha256;        // content sha256 (lowercase hex), when known
  std::string client = "anonymous";  // token name, or "anonymous", or "system" (fills, startup)
  std::string remote;        // "ip:port" of the peer, when there is one
  Kind kind = Kind::scan;
  std::string decision;
  std::string reason;        // one sentence: the rule, member and global, the exception's reason, ...
};

// A query: every set field must match. Results are in append order (oldest first), after
// skipping to the last `limit` records when `tail` is set.
struct Filter {
  std::string repo;                  // glob over Record::repo ('*' matches any run, '/' included); empty = any
  std::int64_t since_ms = 0;         // time_ms >= since_ms
  std::int64_t until_ms = 0;         // time_ms < until_ms when not 0
  std::optional<Kind> kind;
  std::string sha256;                // exact
  std::string path;                  // exact
  std::size_t limit = 10000;         // at most this many records (hard cap 1,000,000)
  bool tail = true;                  // keep the newest `limit` records (else the oldest)
};

class Log {
 public:
  // Opens (creating when missing) the log at `path`.
  static Result<std::unique_ptr<Log>> open(const std::string& path);
  // Cluster mode: table `audit` in PostgreSQL (db migration 12), shared by every node; ids grow
  // with appends across nodes. The schema must be current (db::migrate).
  static Result<std::unique_ptr<Log>> open_pg(std::shared_ptr<db::Pool> pool);
  ~Log();
  Log(const Log&) = delete;

  // Appends one record; returns its id. Fields longer than 64 KiB are cut (the log must not be
  // an amplifier for hostile input).
  Result<std::int64_t> append(Record r);
  Result<std::vector<Record>> query(const Filter& f) const;

 private:
  struct Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// JSON array of records: [{"id","time" (YYYY-MM-DDTHH:MM:SS.mmmZ),"timeMs","repo","revision",
// "path","sha256","client","remote","kind","decision","reason"}].
std::string to_json(const std::vector<Record>& records);
// One line per record, tab-separated (time, kind, decision, repo, revision, path, sha256,
// client, remote, reason).
std::string to_text(const std::vector<Record>& records);

// Time formats accepted by `--since`/`?since=`: unix seconds ("1764145200"), an ISO-8601 UTC
// date or time ("2026-11-26", "2026-11-26T08:00:00Z", fractional seconds allowed) or a duration
// before `now_ms` ("30s", "15m", "2h", "7d"). Returns unix milliseconds.
Result<std::int64_t> parse_time(std::string_view s, std::int64_t now_ms);
std::string format_time(std::int64_t time_ms);  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
std::int64_t now_ms();

}  // namespace hubgate::audit
