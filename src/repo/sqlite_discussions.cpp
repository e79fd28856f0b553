// Discussions and pull requests on the SQLite catalog. Numbers are shared by discussions and
// pull requests: the next one is one above the highest discussion number or pull-request ref
// (databases from before discussions existed have PR refs without discussion rows).
#include "repo/sqlite_internal.hpp"

namespace hubgate::repo::detail {

namespace {

Discussion read_discussion(Stmt& s) {
  Discussion d;
  d.num = int(s.i64(0));
  d.title = s.text(1);
  d.status = s.text(2);
  d.is_pr = s.i64(3) != 0;
  d.author = s.text(4);
  d.created = s.i64(5);
  d.base = s.text(6);
  d.start_commit = s.text(7);
  d.merge_commit = s.text(8);
  return d;
}

constexpr const char* kColumns = "num, title, status, is_pr, author, created, base, start_commit, merge_commit";

}  // namespace

Result<int> SqliteCatalog::next_discussion_num(std::int64_t repo) {
  Stmt s(db_,
         "SELECT MAX(COALESCE((SELECT MAX(num) FROM discussions WHERE repo=?1), 0), "
         "COALESCE((SELECT MAX(CAST(substr(name, 9) AS INTEGER)) FROM refs WHERE repo=?1 AND kind=2), 0))");
  s.bind(1, repo);
  if (s.step() != SQLITE_ROW) return db_error("next discussion number");
  return int(s.i64(0)) + 1;
}

Result<void> SqliteCatalog::insert_discussion(std::int64_t repo, const Discussion& d) {
  Stmt s(db_, "INSERT INTO discussions VALUES(?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, repo).bind(2, std::int64_t(d.num)).bind(3, d.title).bind(4, d.status).bind(5, std::int64_t(d.is_pr));
  s.bind(6, d.author).bind(7, d.created).bind(8, d.base).bind(9, d.start_commit).bind(10, d.merge_commit);
  if (s.step() != SQLITE_DONE) return db_error("insert discussion");
  return {};
}

Result<void> SqliteCatalog::insert_event(std::int64_t repo, int num, const DiscussionEvent& ev) {
  Stmt s(db_, "INSERT OR IGNORE INTO discussion_events(repo, num, id, type, author, time, data) VALUES(?,?,?,?,?,?,?)");
  s.bind(1, repo).bind(2, std::int64_t(num)).bind(3, ev.id).bind(4, ev.type).bind(5, ev.author).bind(6, ev.time);
  s.bind(7, ev.data);
  if (s.step() != SQLITE_DONE) return db_error("insert discussion event");
  return {};
}

Result<Discussion> SqliteCatalog::create_discussion(std::int64_t repo, Discussion d, const DiscussionEvent& first,
                                                    const std::string& pr_head) {
  std::lock_guard lk(mu_);
  return transaction([&]() -> Result<Discussion> {
    HG_TRY(d.num, next_discussion_num(repo));
    HG_TRY_VOID(insert_discussion(repo, d));
    HG_TRY_VOID(insert_event(repo, d.num, first));
    if (d.is_pr) {
      Stmt s(db_, "INSERT OR REPLACE INTO refs(repo, name, kind, commit_id) VALUES(?,?,?,?)");
      s.bind(1, repo).bind(2, "refs/pr/" + std::to_string(d.num)).bind(3, std::int64_t(RefKind::pr)).bind(4, pr_head);
      if (s.step() != SQLITE_DONE) return db_error("create PR ref");
    }
    return d;
  });
}

Result<std::vector<Discussion>> SqliteCatalog::list_discussions(std::int64_t repo) {
  std::lock_guard lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kColumns + " FROM discussions WHERE repo=? ORDER BY num DESC").c_str());
  s.bind(1, repo);
  std::vector<Discussion> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_discussion(s));
  if (rc != SQLITE_DONE) return db_error("list discussions");
  return out;
}

Result<std::optional<Discussion>> SqliteCatalog::find_discussion(std::int64_t repo, int num) {
  std::lock_guard lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kColumns + " FROM discussions WHERE repo=? AND num=?").c_str());
  s.bind(1, repo).bind(2, std::int64_t(num));
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Discussion>{};
  if (rc != SQLITE_ROW) return db_error("read discussion");
  return std::optional<Discussion>(read_discussion(s));
}

Result<std::vector<DiscussionEvent>> SqliteCatalog::list_events(std::int64_t repo, int num) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT id, type, author, time, data FROM discussion_events WHERE repo=? AND num=? ORDER BY seq");
  s.bind(1, repo).bind(2, std::int64_t(num));
  std::vector<DiscussionEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(DiscussionEvent{s.text(0), s.text(1), s.text(2), s.i64(3), s.text(4)});
  if (rc != SQLITE_DONE) return db_error("list discussion events");
  return out;
}

Result<void> SqliteCatalog::update_discussion(std::int64_t repo, const Discussion& d, const DiscussionEvent& ev) {
  std::lock_guard lk(mu_);
  return transaction([&]() -> Result<void> {
    Stmt s(db_, "UPDATE discussions SET title=?3, status=?4, merge_commit=?5 WHERE repo=?1 AND num=?2");
    s.bind(1, repo).bind(2, std::int64_t(d.num)).bind(3, d.title).bind(4, d.status).bind(5, d.merge_commit);
    if (s.step() != SQLITE_DONE) return db_error("update discussion");
    if (sqlite3_changes(db_) == 0) return fail(Errc::not_found, "no discussion #" + std::to_string(d.num));
    if (!ev.id.empty()) HG_TRY_VOID(insert_event(repo, d.num, ev));
    return {};
  });
}

Result<void> SqliteCatalog::replace_event(std::int64_t repo, int num, const DiscussionEvent& ev) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "UPDATE discussion_events SET data=?4 WHERE repo=?1 AND num=?2 AND id=?3");
  s.bind(1, repo).bind(2, std::int64_t(num)).bind(3, ev.id).bind(4, ev.data);
  if (s.step() != SQLITE_DONE) return db_error("update discussion event");
  if (sqlite3_changes(db_) == 0) return fail(Errc::not_found, "no event " + ev.id + " in discussion #" + std::to_string(num));
  return {};
}

}  // namespace hubgate::repo::detail
