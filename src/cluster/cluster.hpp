// cluster: several `hubgate serve` edge nodes sharing one object store and one PostgreSQL
// database (ARCHITECTURE.md "Cluster mode: one upstream transfer per file").
//
// `Membership` is this node's row in `cluster_members` (id random at start, `--advertise` URL),
// refreshed by a heartbeat thread every lease_ttl / 3, and its fill leases: one row per content
// key in `fill_leases` naming the node that fetches that file from upstream, until `expires_at`
// (the heartbeat renews every lease of this node). `take_lease` inserts the row, or takes it
// over when it expired (its owner stopped renewing it: dead, or cut off from the database), or
// answers who holds it and where that node is reached. `release_lease` deletes the row once the
// object is in the store (or the fill failed). Times are the database server's (`now()`), so
// node clocks do not matter.
//
// Thread-safety: all methods are thread-safe (one connection, serialized; reopened after a
// connection loss).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/db.hpp"
#include "util/error.hpp"

namespace hubgate::cluster {

struct MemberOptions {
  std::string database_url;                   // postgresql://…
  std::string advertise_url;                  // base URL the other nodes reach this one at
  std::chrono::milliseconds lease_ttl{10000};  // a silent owner's leases expire after this
};

struct LeaseAnswer {
  bool mine = false;      // this node holds the lease now: it fetches from upstream
  std::string owner;      // the holder's member id
  std::string owner_url;  // its advertise URL ("" when its member row is gone)
};

class Membership {
 public:
  // Opens the database, applies the schema migrations, registers this node and starts the
  // heartbeat.
  static Result<std::unique_ptr<Membership>> join(MemberOptions options);
  // Stops the heartbeat, deletes this node's leases and member row.
  ~Membership();
  Membership(const Membership&) = delete;

  const std::string& id() const { return id_; }
  std::chrono::milliseconds lease_ttl() const { return opt_.lease_ttl; }

  Result<LeaseAnswer> take_lease(const std::string& key);
  void release_lease(const std::string& key);

 private:
  explicit Membership(MemberOptions o) : opt_(std::move(o)) {}
  Result<std::vector<db::Row>> query(const std::string& sql, const std::vector<std::string>& params);
  void heartbeat_loop();

  MemberOptions opt_;
  std::string id_;
  std::mutex db_mu_;
  std::unique_ptr<db::Connection> conn_;
  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool stopping_ = false;
  std::thread heartbeat_;
};

// For `hubgate cluster status`: members (live = heartbeat within `live_within`) and leases.
struct MemberRow {
  std::string id, advertise_url, started_at;
  double heartbeat_age_s = 0;
  bool live = false;
  long leases = 0;
};
struct LeaseRow {
  std::string key, owner;
  double expires_in_s = 0;  // negative: expired
};
Result<std::vector<MemberRow>> list_members(db::Connection& c, std::chrono::milliseconds live_within);
Result<std::vector<LeaseRow>> list_leases(db::Connection& c);

}  // namespace hubgate::cluster
