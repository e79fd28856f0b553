// Where a command keeps its metadata: the data directory's SQLite files (single-node mode), or
// the PostgreSQL database of cluster mode (`--database postgresql://…`, TOML `[database] url`,
// env HUBGATE_DATABASE_URL for `serve`). With a database the schema migrations are applied
// first (db::migrate: each step once, under an advisory lock) and the catalog and tokens live
// there; the data directory keeps what is node-local.
#pragma once

#include <memory>
#include <string>

#include "auth/auth.hpp"
#include "db/pool.hpp"
#include "repo/catalog.hpp"

namespace hubgate::cli {

// Applies the migrations and opens a pool of `connections` to `url`.
Result<std::shared_ptr<db::Pool>> open_database(const std::string& url, std::size_t connections);

struct Metadata {
  std::shared_ptr<db::Pool> pool;  // null in single-node mode
  std::unique_ptr<repo::Catalog> catalog;
  std::unique_ptr<auth::TokenStore> tokens;
};

// `url` empty: <data_dir>/meta.db and <data_dir>/auth.db.
Result<Metadata> open_metadata(const std::string& data_dir, const std::string& url, std::size_t connections);

// Just the tokens (`hubgate token`).
Result<std::unique_ptr<auth::TokenStore>> open_tokens(const std::string& data_dir, const std::string& url);

}  // namespace hubgate::cli
