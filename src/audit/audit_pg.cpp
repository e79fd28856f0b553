#include <algorithm>

#include "audit/pg_log.hpp"

namespace hubgate::audit::detail {

std::string glob_to_like(std::string_view glob) {
  std::string out;
  for (char ch : glob) {
    if (ch == '*') {
      out += '%';
    } else {
      if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
      out += ch;
    }
  }
  return out;
}

Result<std::int64_t> pg_append(db::Pool& pool, const Record& r) {
  HG_TRY(auto c, pool.acquire());
  auto rows = c->query(
      "INSERT INTO audit (time_ms, repo, revision, path, sha256, client, remote, kind, decision, reason) "
      "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
      {std::to_string(r.time_ms), r.repo, r.revision, r.path, r.sha256, r.client, r.remote, kind_name(r.kind),
       r.decision, r.reason});
  if (!rows) return fail(db::sql_error(rows.error()).context("audit log: append"));
  return std::stoll(rows->at(0).at(0).value_or("0"));
}

Result<std::vector<Record>> pg_query(db::Pool& pool, const Filter& f, std::size_t limit) {
  std::string sql =
      "SELECT id, time_ms, repo, revision, path, sha256, client, remote, kind, decision, reason FROM audit WHERE "
      "($1 = '' OR repo LIKE $1) AND time_ms >= $2::bigint AND ($3::bigint = 0 OR time_ms < $3::bigint) "
      "AND ($4 = '' OR kind = $4) AND ($5 = '' OR sha256 = $5) AND ($6 = '' OR path = $6) ORDER BY id ";
  sql += f.tail ? "DESC" : "ASC";
  sql += " LIMIT $7";
  HG_TRY(auto c, pool.acquire());
  auto rows = c->query(sql, {f.repo.empty() ? "" : glob_to_like(f.repo), std::to_string(f.since_ms),
                             std::to_string(f.until_ms), f.kind ? kind_name(*f.kind) : "", f.sha256, f.path,
                             std::to_string(limit)});
  if (!rows) return fail(db::sql_error(rows.error()).context("audit log: query"));
  std::vector<Record> out;
  for (const auto& row : *rows) out.push_back(record_from_text([&](int i) { return row.at(std::size_t(i)).value_or(""); }));
  if (f.tail) std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace hubgate::audit::detail
