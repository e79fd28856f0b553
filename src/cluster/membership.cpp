// Membership: the member row, its heartbeat and the fill leases (cluster.hpp). Lease TTLs are
// passed as seconds and added to the server's now(); a lease is taken with one statement:
// INSERT, or ON CONFLICT an UPDATE that only applies when the row expired (or is already ours),
// RETURNING the row when this node holds it.
#include <cstdio>

#include "auth/auth.hpp"
#include "cluster/cluster.hpp"

namespace hubgate::cluster {

namespace {

std::string seconds(std::chrono::milliseconds d) { return std::to_string(double(d.count()) / 1000.0); }

}  // namespace

Result<std::unique_ptr<Membership>> Membership::join(MemberOptions o) {
  if (o.advertise_url.empty()) return fail(Errc::invalid_argument, "cluster mode needs --advertise URL");
  if (o.lease_ttl < std::chrono::milliseconds(300)) return fail(Errc::invalid_argument, "lease TTL below 0.3 s");
  std::unique_ptr<Membership> m(new Membership(std::move(o)));
  HG_TRY(m->conn_, db::Connection::open(m->opt_.database_url));
  HG_TRY_VOID(db::migrate(*m->conn_));
  m->id_ = auth::random_hex(8);
  HG_TRY_VOID(m->query("INSERT INTO cluster_members (id, advertise_url) VALUES ($1, $2)", {m->id_, m->opt_.advertise_url}));
  m->heartbeat_ = std::thread([p = m.get()] { p->heartbeat_loop(); });
  return m;
}

Membership::~Membership() {
  {
    std::lock_guard lock(hb_mu_);
    stopping_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  (void)query("DELETE FROM fill_leases WHERE owner = $1", {id_});
  (void)query("DELETE FROM cluster_members WHERE id = $1", {id_});
}

Result<std::vector<db::Row>> Membership::query(const std::string& sql, const std::vector<std::string>& params) {
  std::lock_guard lock(db_mu_);
  if (conn_) {
    auto r = conn_->query(sql, params);
    if (r || r.error().code != Errc::unavailable) return r;
    conn_.reset();  // the connection broke: reopen once
  }
  HG_TRY(conn_, db::Connection::open(opt_.database_url));
  return conn_->query(sql, params);
}

void Membership::heartbeat_loop() {
  const auto every = opt_.lease_ttl / 3;
  std::unique_lock lock(hb_mu_);
  while (!hb_cv_.wait_for(lock, every, [&] { return stopping_; })) {
    lock.unlock();
    // The member row is re-created if an operator deleted it while this node runs.
    auto m = query("INSERT INTO cluster_members (id, advertise_url) VALUES ($1, $2) "
                   "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), advertise_url = EXCLUDED.advertise_url",
                   {id_, opt_.advertise_url});
    auto l = query("UPDATE fill_leases SET expires_at = now() + $2::float8 * interval '1 second' WHERE owner = $1",
                   {id_, seconds(opt_.lease_ttl)});
    if (!m || !l) std::fprintf(stderr, "hubgate: cluster heartbeat: %s\n", (!m ? m.error() : l.error()).message.c_str());
    lock.lock();
  }
}

Result<LeaseAnswer> Membership::take_lease(const std::string& key) {
  HG_TRY(auto got, query("INSERT INTO fill_leases (key, owner, expires_at) "
                         "VALUES ($1, $2, now() + $3::float8 * interval '1 second') "
                         "ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at "
                         "WHERE fill_leases.expires_at < now() OR fill_leases.owner = EXCLUDED.owner "
                         "RETURNING owner",
                         {key, id_, seconds(opt_.lease_ttl)}));
  if (!got.empty()) return LeaseAnswer{true, id_, opt_.advertise_url};
  HG_TRY(auto rows, query("SELECT l.owner, m.advertise_url FROM fill_leases l "
                          "LEFT JOIN cluster_members m ON m.id = l.owner WHERE l.key = $1",
                          {key}));
  if (rows.empty()) return take_lease(key);  // released in between: try again
  return LeaseAnswer{false, rows[0][0].value_or(""), rows[0][1].value_or("")};
}

void Membership::release_lease(const std::string& key) {
  if (auto r = query("DELETE FROM fill_leases WHERE key = $1 AND owner = $2", {key, id_}); !r)
    std::fprintf(stderr, "hubgate: cluster: releasing the lease of %s: %s\n", key.c_str(), r.error().message.c_str());
}

Result<std::vector<MemberRow>> list_members(db::Connection& c, std::chrono::milliseconds live_within) {
  HG_TRY(auto rows, c.query("SELECT m.id, m.advertise_url, to_char(m.started_at AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), EXTRACT(EPOCH FROM now() - m.heartbeat_at)::float8, "
                            "(SELECT count(*) FROM fill_leases l WHERE l.owner = m.id) "
                            "FROM cluster_members m ORDER BY m.started_at, m.id"));
  std::vector<MemberRow> out;
  for (auto& r : rows) {
    MemberRow m;
    m.id = r.at(0).value_or("");
    m.advertise_url = r.at(1).value_or("");
    m.started_at = r.at(2).value_or("");
    m.heartbeat_age_s = std::stod(r.at(3).value_or("0"));
    m.live = m.heartbeat_age_s * 1000.0 <= double(live_within.count());
    m.leases = std::stol(r.at(4).value_or("0"));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<LeaseRow>> list_leases(db::Connection& c) {
  HG_TRY(auto rows, c.query("SELECT key, owner, EXTRACT(EPOCH FROM expires_at - now())::float8 FROM fill_leases "
                            "ORDER BY key"));
  std::vector<LeaseRow> out;
  for (auto& r : rows) out.push_back({r.at(0).value_or(""), r.at(1).value_or(""), std::stod(r.at(2).value_or("0"))});
  return out;
}

}  // namespace hubgate::cluster
