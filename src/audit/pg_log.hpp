// Private to src/audit/: the audit log's statements on PostgreSQL (table `audit`, db migration
// 12: the SQLite columns, `id` an identity column). The repository glob becomes a LIKE pattern
// ('*' -> '%', LIKE's own characters escaped), so the whole filter, and `limit`, stay in SQL.
#pragma once

#include <functional>

#include "audit/audit.hpp"
#include "db/pool.hpp"

namespace hubgate::audit::detail {

Result<std::int64_t> pg_append(db::Pool& pool, const Record& r);
Result<std::vector<Record>> pg_query(db::Pool& pool, const Filter& f, std::size_t limit);
// A record from the columns id, time_ms, repo, revision, path, sha256, client, remote, kind,
// decision, reason as text (audit.cpp; both stores read through it).
Record record_from_text(const std::function<std::string(int)>& text);
// `glob` (util/glob.hpp syntax) as a LIKE pattern with '\' as the escape character.
std::string glob_to_like(std::string_view glob);

}  // namespace hubgate::audit::detail
