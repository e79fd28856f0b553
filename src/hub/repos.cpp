// Repository administration (spec hub-repo-api.md §§6, 8, 9): settings (private/visibility,
// gated), gated-access requests, move and delete.
//
// Access: every route here needs a token that may write the repository (and, for a move, the
// target id too). Gated repositories: metadata stays readable; file downloads need write access
// or an accepted request (`gate_access`, called by resolve). With gated "auto" a request is
// accepted as it is made; "manual" requests wait for the owner (handle/grant routes).
#include <ctime>

#include "cas/cas.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"

namespace hubgate::hub {

namespace {

std::string str_field(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

json access_json(const repo::AccessRequest& a) {
  json user = {{"user", a.user}, {"fullname", a.user}};
  json j = {{"user", user}, {"status", a.status}, {"timestamp", repo::iso_date(a.time)}};
  if (!a.fields.empty()) {
    json f = json::parse(a.fields, nullptr, false);
    if (f.is_object()) j["fields"] = f;
  }
  if (!a.reason.empty()) j["rejectionReason"] = a.reason;
  return j;
}

// "ns/name" with exactly one '/', as HH checks it.
Reply<repo::RepoId> parse_full_id(repo::RepoType t, const std::string& s, const char* what) {
  auto slash = s.find('/');
  if (slash == std::string::npos || s.find('/', slash + 1) != std::string::npos)
    return std::unexpected(error(400, "", std::string(what) + " must be 'namespace/name', got '" + s.substr(0, 200) + "'"));
  auto id = repo::make_repo_id(t, s.substr(0, slash), s.substr(slash + 1));
  if (!id) return std::unexpected(error(400, "", id.error().message));
  return *id;
}

}  // namespace

std::optional<http::Response> gate_access(Ctx& c, const repo::RepoRecord& r) {
  if (r.gated.empty() || auth::can_write(c.tok(), r.id.qualified())) return std::nullopt;
  if (c.token) {
    auto a = c.hub.catalog.find_access(r.key, c.token->name);
    if (!a) return error_from(a.error());
    if (*a && (*a)->status == "accepted") return std::nullopt;
  }
  return error(403, "GatedRepo",
               "Access to " + std::string(repo::type_name(r.id.type)) + " " + r.id.full() +
                   " is restricted. You must have access to it and be authenticated to access it.");
}

http::Response repo_settings(Ctx& c, const repo::RepoId& id) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto j = json_body(c);
  if (!j) return j.error();
  std::optional<bool> priv;
  std::optional<std::string> gated;
  if (j->contains("private")) {
    if (!(*j)["private"].is_boolean()) return error(400, "", "settings: 'private' must be a boolean");
    priv = (*j)["private"].get<bool>();
  }
  if (j->contains("visibility")) {
    std::string v = str_field(*j, "visibility");
    if (v != "public" && v != "private") return error(400, "", "settings: 'visibility' must be 'public' or 'private'");
    priv = v == "private";
  }
  if (j->contains("gated")) {
    const json& g = (*j)["gated"];
    if (g.is_boolean() && !g.get<bool>()) {
      gated = "";
    } else if (g.is_string() && (g == "auto" || g == "manual")) {
      gated = g.get<std::string>();
    } else {
      return error(400, "", "settings: 'gated' must be false, 'auto' or 'manual'");
    }
  }
  if (!priv && !gated) {
    if (j->contains("xetEnabled")) return json_reply(200, json::object());  // Xet is always on when configured
    return error(400, "", "settings: nothing to change (private, visibility or gated)");
  }
  if (auto u = c.hub.catalog.update_repo(r->key, priv, gated); !u) return error_from(u.error());
  std::string what;
  if (priv) what += std::string("private=") + (*priv ? "true" : "false");
  if (gated) what += (what.empty() ? "" : " ") + std::string("gated=") + (gated->empty() ? "false" : *gated);
  audit_write(c, id, "update_settings", "", what);
  return json_reply(200, json::object());
}

http::Response access_requests(Ctx& c, const repo::RepoId& id, std::string_view action) {
  const auto& m = c.req.method;
  bool list = action == "pending" || action == "accepted" || action == "rejected";
  if (list && m != "GET") return error(405, "", "method not allowed (allowed: GET)");
  if (!list && action != "handle" && action != "grant") return error(404, "", "no such API endpoint");
  if (!list && m != "POST") return error(405, "", "method not allowed (allowed: POST)");
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  if (r->gated.empty()) return error(400, "", "Repository " + id.qualified() + " is not gated");
  if (list) {
    auto all = c.hub.catalog.list_access(r->key, action);
    if (!all) return error_from(all.error());
    json out = json::array();
    for (const auto& a : *all) out.push_back(access_json(a));
    return json_reply(200, out);
  }
  auto j = json_body(c);
  if (!j) return j.error();
  std::string user = str_field(*j, "user");
  if (user.empty() || user.size() > 255) return error(400, "", "access request: expected {\"user\": ...}");
  auto cur = c.hub.catalog.find_access(r->key, user);
  if (!cur) return error_from(cur.error());
  repo::AccessRequest a;
  a.user = user;
  a.time = std::int64_t(std::time(nullptr));
  if (action == "grant") {
    if (*cur && (*cur)->status == "accepted") return error(400, "", "User " + user + " already has access");
    a.status = "accepted";
  } else {
    std::string status = str_field(*j, "status");
    if (status != "accepted" && status != "rejected" && status != "pending")
      return error(400, "", "access request: status must be accepted, rejected or pending");
    if (!*cur) return error(404, "", "No access request from " + user);
    if ((*cur)->status == status) return error(404, "", "The request of " + user + " is already " + status);
    a.status = status;
    a.fields = (*cur)->fields;
    if (status == "rejected") a.reason = str_field(*j, "rejectionReason");
  }
  if (auto p = c.hub.catalog.put_access(r->key, a); !p) return error_from(p.error());
  audit_write(c, id, action == "grant" ? "grant_access" : "handle_access_request", "", user + " " + a.status);
  return json_reply(200, json::object());
}

http::Response ask_access(Ctx& c, const repo::RepoId& id) {
  if (!c.token) return error(401, "", "a token is required to request access to " + id.qualified());
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  if (r->gated.empty()) return error(400, "", "Repository " + id.qualified() + " is not gated");
  auto j = json_body(c);
  if (!j) return j.error();
  auto cur = c.hub.catalog.find_access(r->key, c.token->name);
  if (!cur) return error_from(cur.error());
  if (*cur) return json_reply(200, {{"status", (*cur)->status}});
  repo::AccessRequest a;
  a.user = c.token->name;
  a.status = r->gated == "auto" ? "accepted" : "pending";
  a.time = std::int64_t(std::time(nullptr));
  if (!j->empty()) a.fields = j->dump();
  if (auto p = c.hub.catalog.put_access(r->key, a); !p) return error_from(p.error());
  audit_write(c, id, "ask_access", "", a.user + " " + a.status);
  return json_reply(200, {{"status", a.status}});
}

http::Response move_repo(Ctx& c) {
  auto j = json_body(c);
  if (!j) return j.error();
  std::string type_s = j->contains("type") && (*j)["type"].is_string() ? (*j)["type"].get<std::string>() : "model";
  auto type = repo::type_from_name(type_s);
  if (!type) return error(400, "", "move: unknown repository type '" + type_s.substr(0, 50) + "'");
  auto from = parse_full_id(*type, str_field(*j, "fromRepo"), "fromRepo");
  if (!from) return from.error();
  auto to = parse_full_id(*type, str_field(*j, "toRepo"), "toRepo");
  if (!to) return to.error();
  auto r = open_repo(c, *from, Need::write);
  if (!r) return r.error();
  if (*from == *to) return error(400, "", "move: fromRepo and toRepo are the same");
  if (!auth::can_write(c.tok(), to->qualified()))
    return error(403, "", "token '" + user_of(c) + "' may not create " + to->qualified());
  if (auto mv = c.hub.catalog.move_repo(r->key, *to); !mv) {
    if (mv.error().code == Errc::already_exists) return error(409, "", mv.error().message);
    return error_from(mv.error());
  }
  if (c.hub.opts.xet) (void)c.hub.opts.xet->rename_repo(from->qualified(), to->qualified());  // Xet accounting
  audit_write(c, *to, "move_repo", "", "from " + from->qualified());
  audit_write(c, *from, "move_repo", "", "to " + to->qualified());
  return json_reply(200, {{"url", c.base_url + "/" + to->url_prefix() + to->full()}});
}

http::Response delete_repo(Ctx& c) {
  auto j = json_body(c);
  if (!j) return j.error();
  std::string name = str_field(*j, "name");
  std::string ns = str_field(*j, "organization");
  if (ns.empty() && name.find('/') != std::string::npos) {
    ns = name.substr(0, name.find('/'));
    name = name.substr(name.find('/') + 1);
  }
  if (ns.empty()) ns = user_of(c);  // legacy slash-less ids: the caller's namespace
  std::string type_s = j->contains("type") && (*j)["type"].is_string() ? (*j)["type"].get<std::string>() : "model";
  auto type = repo::type_from_name(type_s);
  if (!type) return error(400, "", "delete: unknown repository type '" + type_s.substr(0, 50) + "'");
  auto id = repo::make_repo_id(*type, ns, name);
  if (!id) return error(400, "", id.error().message);
  auto r = open_repo(c, *id, Need::write);
  if (!r) return r.error();
  auto blobs = c.hub.catalog.repo_blobs(r->key);
  if (!blobs) return error_from(blobs.error());
  if (auto d = c.hub.catalog.delete_repo(r->key); !d) return error_from(d.error());
  if (c.hub.opts.xet) (void)c.hub.opts.xet->forget_repo(id->qualified());  // Xet accounting
  auto released = release_blobs(c.hub, *blobs);  // what no other repository names
  audit_write(c, *id, "delete_repo", "",
              "released " + std::to_string(released.blobs) + " blobs (" + std::to_string(released.bytes) + " bytes)");
  return json_reply(200, json::object());
}

}  // namespace hubgate::hub
