#include "db/pool.hpp"

namespace hubgate::db {

Error sql_error(const Error& e) {
  if (e.code == Errc::unavailable || e.code == Errc::conflict) return e;
  return Error(Errc::io, "database: " + e.message);
}

Result<void> insert_rows(Connection& c, const std::string& head, std::size_t width,
                         const std::vector<std::vector<std::string>>& rows) {
  constexpr std::size_t kBatch = 1000;
  for (std::size_t i = 0; i < rows.size(); i += kBatch) {
    std::string sql = head + " VALUES ";
    std::vector<std::string> params;
    for (std::size_t j = i; j < rows.size() && j < i + kBatch; ++j) {
      sql += j == i ? "(" : ",(";
      for (std::size_t k = 0; k < width; ++k) {
        params.push_back(rows[j].at(k));
        sql += (k ? ",$" : "$") + std::to_string(params.size());
      }
      sql += ")";
    }
    if (auto r = c.query(sql + " ON CONFLICT DO NOTHING", params); !r) return fail(sql_error(r.error()));
  }
  return {};
}

Result<std::shared_ptr<Pool>> Pool::open(const std::string& url, std::size_t max) {
  HG_TRY(auto first, Connection::open(url));
  std::shared_ptr<Pool> p(new Pool(url, max < 1 ? 1 : max));
  p->idle_.push_back(std::move(first));
  p->open_ = 1;
  return p;
}

Pool::Lease::~Lease() {
  if (pool_ && c_) pool_->give_back(std::move(c_));
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lk(mu_);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(shared_from_this(), std::move(c));
    }
    if (open_ < max_) {
      ++open_;
      lk.unlock();
      auto c = Connection::open(url_);
      if (!c) {
        lk.lock();
        --open_;
        cv_.notify_one();
        return fail(c.error());
      }
      return Lease(shared_from_this(), std::move(*c));
    }
    cv_.wait(lk);
  }
}

void Pool::give_back(std::unique_ptr<Connection> c) {
  std::vector<std::unique_ptr<Connection>> drop;  // closed outside the lock
  {
    std::lock_guard lk(mu_);
    if (c->healthy()) {
      idle_.push_back(std::move(c));
    } else {
      drop.push_back(std::move(c));
      for (auto& i : idle_) drop.push_back(std::move(i));
      idle_.clear();
      open_ -= drop.size();
    }
  }
  cv_.notify_all();
}

}  // namespace hubgate::db
