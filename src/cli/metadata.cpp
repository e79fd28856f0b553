#include "cli/metadata.hpp"

#include "util/atomic_file.hpp"

namespace hubgate::cli {

Result<std::shared_ptr<db::Pool>> open_database(const std::string& url, std::size_t connections) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://"))
    return fail(Errc::invalid_argument, "--database wants a postgresql:// URL");
  {
    HG_TRY(auto c, db::Connection::open(url));
    auto applied = db::migrate(*c);
    if (!applied) return fail(applied.error().context("database schema migration"));
  }
  return db::Pool::open(url, connections);
}

Result<Metadata> open_metadata(const std::string& data_dir, const std::string& url, std::size_t connections) {
  Metadata m;
  if (url.empty()) {
    HG_TRY(m.catalog, repo::open_sqlite_catalog(data_dir + "/meta.db"));
    HG_TRY(m.tokens, auth::TokenStore::open(data_dir + "/auth.db"));
    return m;
  }
  HG_TRY(m.pool, open_database(url, connections));
  HG_TRY(m.catalog, repo::open_pg_catalog(m.pool));
  HG_TRY(m.tokens, auth::TokenStore::open_pg(m.pool));
  return m;
}

Result<std::unique_ptr<auth::TokenStore>> open_tokens(const std::string& data_dir, const std::string& url) {
  if (url.empty()) {
    HG_TRY_VOID(make_dirs(data_dir));
    return auth::TokenStore::open(data_dir + "/auth.db");
  }
  HG_TRY(auto pool, open_database(url, 1));
  return auth::TokenStore::open_pg(std::move(pool));
}

}  // namespace hubgate::cli
