// `hubgate serve`: loads the configuration (defaults, then the TOML file, then flags), opens the
// data directory (<data>/store blobs — or, with --store s3://…, the node's local copies of the
// blobs and Xet objects kept in the object store —, <data>/meta.db repositories, <data>/auth.db tokens,
// <data>/secret URL-signing key, <data>/xet Xet chunk store), starts http::Server with hub::Hub as handler, writes one
// access-log line per request, and drains gracefully on SIGINT/SIGTERM.
#include <sys/statvfs.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <toml++/toml.h>

#include "audit/audit.hpp"
#include "auth/auth.hpp"
#include "cas/cas.hpp"
#include "cas/hot_copies.hpp"
#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "cli/cluster_setup.hpp"
#include "cli/gate_setup.hpp"
#include "cli/metadata.hpp"
#include "cli/object_storage.hpp"
#include "http/server.hpp"
#include "hub/hub.hpp"
#include "repo/catalog.hpp"
#include "sign/gate.hpp"
#include "store/s3_store.hpp"
#include "store/store.hpp"
#include "upstream/edge.hpp"
#include "util/atomic_file.hpp"
#include "util/parse.hpp"
#include "xet/s3_object_store.hpp"

namespace hubgate {

namespace {

constexpr const char* kServeUsage = R"(usage: hubgate serve [options]

  --listen HOST:PORT   address to listen on (default 0.0.0.0:8080; port 0 picks a free one)
  --data-dir DIR       data directory (default ./data)
  --upstream URL|none  upstream hub for pull-through (default https://huggingface.co)
  --public-url URL     absolute base URL used in Link headers and returned URLs
                       (default: derived from each request's Host header)
  --cdn-url URL        base URL of a CDN in front of this server (README.md "A CDN in front"):
                       resolve of a hosted LFS file redirects to its signed content address
                       there, and Xet reconstructions hand out xorb range URLs there
  --config FILE        TOML file with the same keys (listen, data_dir, upstream, public_url, cdn_url,
                       log_level, access_log, threads, max_connections); flags override it
  --log-level LEVEL    error | warn | info | debug (default info)
  --access-log FILE    append access-log lines to FILE instead of stderr
  --threads N          worker threads (default: number of cores)
  --max-connections N  open connections at most; past it new ones get 503 TooManyConnections
                       (default: the file-descriptor limit less a reserve)

pull-through cache (repositories not hosted here are served from --upstream; src/upstream/):
  --cache-max-bytes N  capacity of the upstream cache (<data>/upstream), LRU-evicted; 0 = unlimited
  --offline            never contact upstream; serve only what is cached
  --upstream-token T   gateway token for upstream byte transfers (never grants a client access)
  --ref-ttl SECONDS    how long a branch -> commit mapping is trusted (default 60)
  --auth-ttl SECONDS   how long an upstream access decision per token+repo is cached (default 60)
  --allow-repos P,..   only these repos (globs on org/name or datasets/org/name) go upstream
  --deny-repos P,..    never these repos
  --upstream-xet on|off  fill Xet-backed files through upstream's Xet CAS, fetching only the
                       chunks not held yet, and serve Xet to clients (default on); off = plain
                       whole-file fills (less CPU per cold file, no cross-revision dedup)

object store (README.md "Object storage"; cluster mode):
  --store local|s3://BUCKET[/PREFIX]  where blobs, Xet xorbs and shards live (default local: the
                       data directory). With s3://, the data directory keeps each node's local
                       copies (a cache, LRU, bounded by --cache-max-bytes as well; wiping it
                       loses nothing)
  --s3-endpoint URL    S3 API endpoint (default: https://s3.$AWS_REGION.amazonaws.com)
  --s3-addressing path|virtual  bucket in the path (default) or in the host name
                       credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)
                       and AWS_REGION from the environment, or TOML [store] access_key_id,
                       secret_access_key, region (also url, endpoint, addressing)

metadata database (README.md "Cluster mode"):
  --database URL       postgresql://… (libpq URI): repositories, refs, commits and tokens live
                       there, shared by every node; the schema migrations are applied at start.
                       Also TOML [database] url and $HUBGATE_DATABASE_URL. Default: SQLite files
                       in the data directory

storage (README.md "Hot copies"):
  --hot-copies-max-bytes N  budget for whole-file copies of files the Xet chunk store holds;
                       least recently used copies past it are removed and plain downloads of them
                       are served from the chunks (TOML: [storage] hot_copies_max_bytes).
                       Copies are a read cache filled by plain (non-Xet) downloads. Default: a
                       tenth of the data directory's file system; 0 = keep none; 'unlimited' =
                       keep every copy, also the one each commit makes

S3 face (README.md "S3 face"; read-only, same port):
  --s3-face on|off     answer S3 requests (bucket models|datasets, key ORG/NAME/REV/PATH;
                       ListObjectsV2, HeadObject, GetObject) through the same resolve,
                       pull-through and gate path as the Hub API (default on; TOML s3_face)
  --s3-domain DOMAIN   also accept virtual-host requests (Host: models.DOMAIN, datasets.DOMAIN)
                       (TOML s3_domain). Keys for private repositories: token create --s3

signature policy (OpenSSF model signing; README.md "Signature policy"):
  --signing-policy FILE  JSON policy: repository globs -> required signers; revisions of covered
                         repositories that fail it are refused (403 SignatureRequired /
                         SignatureInvalid). TOML: [signing] policy = FILE, or [[signing.policies]]
  --countersign-key FILE EC private key (PEM): revisions this gateway verified are countersigned,
                         the bundle served at <repo>/resolve/<rev>/.hubgate/countersignature.sig
                         (TOML: [signing] countersign_key = FILE)
)";

struct Config {
  std::string listen = "0.0.0.0:8080";
  std::string data_dir = "./data";
  std::string upstream = "https://huggingface.co";
  std::string public_url;
  std::string cdn_url;
  std::string log_level = "info";
  std::string access_log;
  unsigned threads = 0;
  std::uint64_t max_connections = 0;  // 0 = derived from the descriptor limit
  std::string signing_policy;       // [signing] policy = FILE (JSON)
  std::string signing_inline_json;  // [[signing.policies]] as JSON {"policies": [...]}
  std::string countersign_key;      // [signing] countersign_key = FILE (PEM EC private key)
  std::string config_dir;           // base for relative paths in [[signing.policies]]
  // [storage] hot_copies_max_bytes; nullopt = the default (kDefaultHotCopiesShare of the disk)
  std::optional<std::uint64_t> hot_copies_max_bytes;
  bool hot_copies_unlimited = false;  // "unlimited": every copy is kept
  // [store]: the object store of cluster mode (README.md "Object storage").
  std::string store = "local";
  std::string s3_endpoint, s3_addressing = "path", s3_region, s3_access_key, s3_secret_key;
  // [database] url: cluster mode's PostgreSQL ("" = SQLite in the data directory).
  std::string database;
  std::string s3_face = "on";  // the read-only S3 face (hub/s3_face.cpp)
  std::string s3_domain;
};

Result<void> load_toml(const std::string& path, Config& cfg) {
  try {
    toml::table t = toml::parse_file(path);
    auto str = [&](const char* key, std::string& out) {
      if (auto v = t[key].value<std::string>()) out = *v;
    };
    str("listen", cfg.listen);
    str("data_dir", cfg.data_dir);
    str("upstream", cfg.upstream);
    str("public_url", cfg.public_url);
    str("cdn_url", cfg.cdn_url);
    str("log_level", cfg.log_level);
    str("access_log", cfg.access_log);
    str("s3_face", cfg.s3_face);
    str("s3_domain", cfg.s3_domain);
    if (auto sg = t["signing"].as_table()) {
      if (auto v = (*sg)["policy"].value<std::string>()) {  // relative to the TOML file
        std::filesystem::path pp = *v;
        cfg.signing_policy = (pp.is_relative() ? std::filesystem::path(path).parent_path() / pp : pp).string();
      }
      if (auto v = (*sg)["countersign_key"].value<std::string>()) {
        std::filesystem::path pp = *v;
        cfg.countersign_key = (pp.is_relative() ? std::filesystem::path(path).parent_path() / pp : pp).string();
      }
      if (auto arr = (*sg)["policies"].as_array()) {
        std::ostringstream os;
        os << toml::json_formatter{toml::table{{"policies", *arr}}};
        cfg.signing_inline_json = os.str();
        cfg.config_dir = std::filesystem::path(path).parent_path().string();
      }
    }
    if (auto st = t["store"].as_table()) {
      auto sv = [&](const char* key, std::string& out) {
        if (auto v = (*st)[key].value<std::string>()) out = *v;
      };
      sv("url", cfg.store);
      sv("endpoint", cfg.s3_endpoint);
      sv("addressing", cfg.s3_addressing);
      sv("region", cfg.s3_region);
      sv("access_key_id", cfg.s3_access_key);
      sv("secret_access_key", cfg.s3_secret_key);
    }
    if (auto db = t["database"].as_table()) {
      if (auto v = (*db)["url"].value<std::string>()) cfg.database = *v;
    }
    if (auto st = t["storage"].as_table()) {
      if (auto v = (*st)["hot_copies_max_bytes"].value<std::int64_t>()) {
        if (*v < 0) return fail(Errc::invalid_argument, path + ": [storage] hot_copies_max_bytes must be >= 0");
        cfg.hot_copies_max_bytes = std::uint64_t(*v);
      } else if (auto u = (*st)["hot_copies_max_bytes"].value<std::string>()) {
        if (*u != "unlimited")
          return fail(Errc::invalid_argument, path + ": [storage] hot_copies_max_bytes must be a byte count or \"unlimited\"");
        cfg.hot_copies_unlimited = true;
      }
    }
    if (auto v = t["threads"].value<std::int64_t>()) {
      if (*v < 0 || *v > 1024) return fail(Errc::invalid_argument, path + ": threads must be 0..1024");
      cfg.threads = unsigned(*v);
    }
    if (auto v = t["max_connections"].value<std::int64_t>()) {
      if (*v < 0) return fail(Errc::invalid_argument, path + ": max_connections must be >= 0");
      cfg.max_connections = std::uint64_t(*v);
    }
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid_argument, path + ": " + std::string(e.description()));
  }
  return {};
}

Result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return fail(Errc::invalid_argument, "--listen wants HOST:PORT, got '" + s + "'");
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  auto port = parse_u64(s.substr(colon + 1));
  if (!port || *port > 65535) return fail(Errc::invalid_argument, "--listen: bad port in '" + s + "'");
  return std::pair{host, std::uint16_t(*port)};
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms));
  return out;
}

// logfmt value: quoted when it contains spaces, quotes or control characters.
std::string quote(std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c >= 0x7f) plain = false;
  if (plain) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

int level_of(const std::string& l) {
  if (l == "error") return 0;
  if (l == "warn") return 1;
  if (l == "info") return 2;
  if (l == "debug") return 3;
  return -1;
}

// One signature decision (evaluated once per repository and commit) for the record: an audit
// record (kind signature; decision serve | SignatureRequired | SignatureInvalid) and a log line.
void record_signature(audit::Log* audit_log, std::FILE* log, std::mutex& mu, const sign::GateVerdict& v) {
  if (audit_log) {
    audit::Record r;
    r.time_ms = v.checked_at * 1000;
    r.repo = v.repo;
    r.revision = v.commit;
    r.path = v.signature_file;
    r.client = "system";
    r.kind = audit::Kind::signature;
    r.decision = v.decision.serve ? "serve" : v.decision.error_code;
    r.reason = std::string(sign::gate_status_name(v.status)) + " (policy " + v.rule + ")" +
               (v.signer.empty() ? "" : ": signer " + v.signer) + (v.message.empty() ? "" : ": " + v.message);
    if (auto a = audit_log->append(std::move(r)); !a)
      std::fprintf(stderr, "hubgate: audit append failed: %s\n", a.error().message.c_str());
  }
  std::string line = "ts=" + utc_now() + " event=signature repo=" + quote(v.repo) + " commit=" + v.commit +
                     " status=" + sign::gate_status_name(v.status) + " served=" + (v.decision.serve ? "true" : "false");
  if (!v.decision.error_code.empty()) line += " code=" + v.decision.error_code;
  if (!v.signer.empty()) line += " signer=" + quote(v.signer);
  if (!v.message.empty()) line += " message=" + quote(v.message);
  line += " policy=" + quote(v.rule) + "\n";
  std::lock_guard lk(mu);
  std::fputs(line.c_str(), log);
  std::fflush(log);
}

// Pull-through options from the command line (src/upstream/edge.hpp documents each).
Result<upstream::EdgeOptions> edge_options(const cli::Args& a, const std::string& upstream_url, std::string dir) {
  upstream::EdgeOptions o;
  o.upstream = upstream_url;
  o.cache_dir = std::move(dir);
  o.offline = a.flags.count("--offline") > 0;
  o.upstream_token = a.get("--upstream-token");
  auto num = [&](const char* flag, std::uint64_t def) -> Result<std::uint64_t> {
    if (!a.has(flag)) return def;
    auto v = parse_u64(a.get(flag));
    if (!v) return fail(Errc::invalid_argument, std::string(flag) + " wants a non-negative integer");
    return *v;
  };
  HG_TRY(o.cache_max_bytes, num("--cache-max-bytes", 0));
  HG_TRY(auto ref_ttl, num("--ref-ttl", 60));
  HG_TRY(auto auth_ttl, num("--auth-ttl", 60));
  if (ref_ttl > 86400 * 365 || auth_ttl > 86400 * 365) return fail(Errc::invalid_argument, "TTL too large");
  o.ref_ttl = std::chrono::seconds(ref_ttl);
  o.auth_ttl = std::chrono::seconds(auth_ttl);
  auto list = [](const std::string& v) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= v.size() && !v.empty()) {
      auto comma = v.find(',', start);
      std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  };
  if (a.has("--upstream-xet")) {
    const std::string v = a.get("--upstream-xet");
    if (v != "on" && v != "off") return fail(Errc::invalid_argument, "--upstream-xet wants on or off");
    o.xet_fill = v == "on";
  }
  o.filter.allow = list(a.get("--allow-repos"));
  o.filter.deny = list(a.get("--deny-repos"));
  return o;
}

// Cluster mode's storage: an S3 client for `cfg.store`, the blob store and the Xet object store
// over it (local copies under the data directory, one budget), after a startup probe that
// checks the credentials and whether create-if-absent is honoured.
struct ObjectStorage {
  std::unique_ptr<store::BlobStore> blobs;
  std::shared_ptr<xet::ObjectStore> objects;
  std::shared_ptr<store::S3Client> client;  // cluster mode's fills use it too
  bool conditional = false;
};

Result<ObjectStorage> open_object_store(const Config& cfg, const cli::Args& a) {
  HG_TRY(auto s, cli::s3_config({cfg.store, cfg.s3_endpoint, cfg.s3_addressing, cfg.s3_region, cfg.s3_access_key,
                                 cfg.s3_secret_key}));
  std::optional<std::uint64_t> budget;
  if (a.has("--cache-max-bytes")) {
    auto n = parse_u64(a.get("--cache-max-bytes"));
    if (!n) return fail(Errc::invalid_argument, "--cache-max-bytes wants a non-negative integer");
    if (*n > 0) budget = *n;
  }
  auto client = std::make_shared<store::S3Client>(s);
  auto probe = client->probe();
  if (!probe) return fail(probe.error().code, "object store " + cfg.store + " at " + s.endpoint + ": " + probe.error().message);
  auto cache = std::make_shared<store::NodeCache>(budget);
  ObjectStorage out;
  out.conditional = probe->conditional;
  out.client = client;
  HG_TRY(auto blobs, store::S3Store::open(client, {cfg.data_dir + "/store", cache}));
  out.blobs = std::move(blobs);
  HG_TRY(auto objects, xet::S3ObjectStore::open(client, {cfg.data_dir + "/xet/objects", cache}));
  out.objects = std::move(objects);
  return out;
}

}  // namespace

int serve_main(int argc, char** argv) {
  std::set<std::string> with_value = {"--listen", "--data-dir", "--upstream", "--config", "--log-level",
                                      "--public-url", "--cdn-url", "--access-log", "--threads", "--max-connections", "--cache-max-bytes",
                                      "--upstream-token", "--ref-ttl", "--auth-ttl", "--allow-repos", "--deny-repos",
                                      "--signing-policy", "--countersign-key", "--hot-copies-max-bytes",
                                      "--upstream-xet", "--store", "--s3-endpoint", "--s3-addressing",
                                      "--database", "--s3-face", "--s3-domain"};
  with_value.insert(cli::gate_flags().begin(), cli::gate_flags().end());  // security gate
  with_value.insert(cli::cluster_flags().begin(), cli::cluster_flags().end());  // cluster mode
  auto args = cli::parse_args(argc, argv, with_value, {"--help", "--offline"});
  if (!args) {
    std::fprintf(stderr, "hubgate serve: %s\n\n%s%s%s", args.error().message.c_str(), kServeUsage, cli::kGateUsage,
                 cli::kClusterUsage);
    return 2;
  }
  if (args->flags.count("--help")) {
    std::fputs(kServeUsage, stdout);
    std::fputs(cli::kGateUsage, stdout);
    std::fputs(cli::kClusterUsage, stdout);
    return 0;
  }
  if (!args->positional.empty()) {
    std::fprintf(stderr, "hubgate serve: unexpected argument '%s' (serve takes only options; see --help)\n",
                 args->positional[0].c_str());
    return 2;
  }
  Config cfg;
  if (args->has("--config")) {
    if (auto r = load_toml(args->get("--config"), cfg); !r) {
      std::fprintf(stderr, "hubgate serve: config: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  cli::GateConfig gate_cfg;  // security gate: TOML [gate], then flags
  if (args->has("--config")) {
    if (auto r = cli::gate_config_from_toml(args->get("--config"), gate_cfg); !r) {
      std::fprintf(stderr, "hubgate serve: config: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  cli::ClusterConfig cluster_cfg;  // cluster mode: TOML [database]/[cluster], environment, flags
  if (args->has("--config")) {
    if (auto r = cli::cluster_config_from_toml(args->get("--config"), cluster_cfg); !r) {
      std::fprintf(stderr, "hubgate serve: config: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  if (auto r = cli::cluster_config_from_args(*args, cluster_cfg); !r) {
    std::fprintf(stderr, "hubgate serve: %s\n", r.error().message.c_str());
    return 2;
  }
  if (auto r = cli::gate_config_from_args(*args, gate_cfg); !r) {
    std::fprintf(stderr, "hubgate serve: %s\n", r.error().message.c_str());
    return 2;
  }
  if (args->has("--listen")) cfg.listen = args->get("--listen");
  if (args->has("--data-dir")) cfg.data_dir = args->get("--data-dir");
  if (args->has("--upstream")) cfg.upstream = args->get("--upstream");
  if (args->has("--public-url")) cfg.public_url = args->get("--public-url");
  if (args->has("--cdn-url")) cfg.cdn_url = args->get("--cdn-url");
  if (args->has("--log-level")) cfg.log_level = args->get("--log-level");
  if (args->has("--access-log")) cfg.access_log = args->get("--access-log");
  if (args->has("--signing-policy")) {
    cfg.signing_policy = args->get("--signing-policy");
    cfg.signing_inline_json.clear();
  }
  if (args->has("--countersign-key")) cfg.countersign_key = args->get("--countersign-key");
  if (const char* env = std::getenv("HUBGATE_DATABASE_URL"); env && *env) cfg.database = env;
  if (args->has("--database")) cfg.database = args->get("--database");
  cluster_cfg.database_url = cfg.database;
  if (args->has("--store")) cfg.store = args->get("--store");
  if (args->has("--s3-endpoint")) cfg.s3_endpoint = args->get("--s3-endpoint");
  if (args->has("--s3-addressing")) cfg.s3_addressing = args->get("--s3-addressing");
  if (args->has("--s3-face")) cfg.s3_face = args->get("--s3-face");
  if (args->has("--s3-domain")) cfg.s3_domain = args->get("--s3-domain");
  if (cfg.s3_face != "on" && cfg.s3_face != "off") {
    std::fprintf(stderr, "hubgate serve: --s3-face wants on or off\n");
    return 2;
  }
  if (args->has("--hot-copies-max-bytes")) {
    auto v = args->get("--hot-copies-max-bytes");
    auto n = parse_u64(v);
    if (!n && v != "unlimited") {
      std::fprintf(stderr, "hubgate serve: --hot-copies-max-bytes wants a non-negative integer or 'unlimited'\n");
      return 2;
    }
    cfg.hot_copies_unlimited = !n;
    cfg.hot_copies_max_bytes = n;
  }
  if (args->has("--threads")) {
    auto n = parse_u64(args->get("--threads"));
    if (!n || *n > 1024) {
      std::fprintf(stderr, "hubgate serve: --threads must be 0..1024\n");
      return 2;
    }
    cfg.threads = unsigned(*n);
  }
  if (args->has("--max-connections")) {
    auto n = parse_u64(args->get("--max-connections"));
    if (!n) {
      std::fprintf(stderr, "hubgate serve: --max-connections wants a non-negative integer\n");
      return 2;
    }
    cfg.max_connections = *n;
  }
  int level = level_of(cfg.log_level);
  if (level < 0) {
    std::fprintf(stderr, "hubgate serve: --log-level must be error, warn, info or debug\n");
    return 2;
  }
  while (!cfg.public_url.empty() && cfg.public_url.back() == '/') cfg.public_url.pop_back();
  while (!cfg.cdn_url.empty() && cfg.cdn_url.back() == '/') cfg.cdn_url.pop_back();
  if (!cfg.cdn_url.empty() && !cfg.cdn_url.starts_with("http://") && !cfg.cdn_url.starts_with("https://")) {
    std::fprintf(stderr, "hubgate serve: --cdn-url must start with http:// or https://\n");
    return 2;
  }
  if (!cfg.public_url.empty() && !cfg.public_url.starts_with("http://") && !cfg.public_url.starts_with("https://")) {
    std::fprintf(stderr, "hubgate serve: --public-url must start with http:// or https://\n");
    return 2;
  }
  if (cfg.upstream != "none" && !cfg.upstream.starts_with("http://") && !cfg.upstream.starts_with("https://")) {
    std::fprintf(stderr, "hubgate serve: --upstream must be an http(s) URL or 'none'\n");
    return 2;
  }
  auto listen = split_listen(cfg.listen);
  if (!listen) {
    std::fprintf(stderr, "hubgate serve: %s\n", listen.error().message.c_str());
    return 2;
  }

  auto fatal = [](const Error& e) {
    std::fprintf(stderr, "hubgate serve: %s\n", e.message.c_str());
    return 1;
  };
  if (auto r = make_dirs(cfg.data_dir); !r) return fatal(r.error());
  // Blobs (and, in cluster mode, Xet objects): the data directory, or an object store with the
  // data directory holding this node's local copies.
  std::unique_ptr<store::BlobStore> store;
  std::shared_ptr<xet::ObjectStore> xet_objects;  // null: cas keeps them under <data>/xet/objects
  std::shared_ptr<store::S3Client> s3_client;     // cluster mode
  std::string spool_dir = cfg.data_dir + "/store/tmp";
  if (cfg.store == "local") {
    auto disk = store::DiskStore::open_at(cfg.data_dir + "/store");
    if (!disk) return fatal(disk.error());
    store = std::move(*disk);
  } else {
    auto s3 = open_object_store(cfg, *args);
    if (!s3) {
      std::fprintf(stderr, "hubgate serve: %s\n", s3.error().message.c_str());
      return s3.error().code == Errc::invalid_argument ? 2 : 1;
    }
    if (level >= 1 && !s3->conditional)
      std::fprintf(stderr, "hubgate: warning: the object store ignores If-None-Match: * (concurrent writers of one "
                           "key overwrite it with identical bytes)\n");
    store = std::move(s3->blobs);
    xet_objects = std::move(s3->objects);
    s3_client = std::move(s3->client);
  }
  // Catalog and tokens: SQLite in the data directory, or PostgreSQL (migrated first).
  auto meta = cli::open_metadata(cfg.data_dir, cfg.database, 16);
  if (!meta) {
    std::fprintf(stderr, "hubgate serve: %s\n", meta.error().message.c_str());
    return meta.error().code == Errc::invalid_argument ? 2 : 1;
  }
  auto* catalog = &meta->catalog;
  auto* tokens = &meta->tokens;
  auto signer = auth::Signer::load_or_create(cfg.data_dir + "/secret");
  if (!signer) return fatal(signer.error());
  auto gate_rt = cli::open_gate(cfg.data_dir, gate_cfg, meta->pool);  // security gate: verdicts, audit log
  if (!gate_rt) return fatal(gate_rt.error());

  std::FILE* log = stderr;
  if (!cfg.access_log.empty()) {
    log = std::fopen(cfg.access_log.c_str(), "a");
    if (!log) return fatal(os_error("open", cfg.access_log, errno));
  }
  std::mutex log_mu;

  // Signature policy (src/sign/gate.hpp), shared by hosted repositories and the edge.
  std::shared_ptr<sign::SignatureGate> signatures;
  if (!cfg.signing_policy.empty() || !cfg.signing_inline_json.empty()) {
    auto pol = !cfg.signing_policy.empty() ? sign::load_policy_file(cfg.signing_policy)
                                           : sign::parse_policy_json(cfg.signing_inline_json, cfg.config_dir);
    if (!pol) {
      std::fprintf(stderr, "hubgate serve: %s\n", pol.error().message.c_str());
      return 2;
    }
    signatures = std::make_shared<sign::SignatureGate>(std::move(*pol));
    if (!cfg.countersign_key.empty()) {
      auto pem = read_file(cfg.countersign_key);
      if (!pem) return fatal(Error(Errc::invalid_argument, "--countersign-key: cannot read " + cfg.countersign_key));
      if (auto ok = signatures->set_countersigner(sign::SignerConfig{*pem, {}, {}, {}}); !ok) {
        std::fprintf(stderr, "hubgate serve: --countersign-key %s: %s\n", cfg.countersign_key.c_str(),
                     ok.error().message.c_str());
        return 2;
      }
    }
    signatures->set_recorder([a = gate_rt->audit.get(), &log, &log_mu](const sign::GateVerdict& v) {
      record_signature(a, log, log_mu, v);
    });
  }

  if (!cfg.countersign_key.empty() && !signatures) {
    std::fprintf(stderr, "hubgate serve: --countersign-key needs a signing policy (--signing-policy)\n");
    return 2;
  }

  // Xet CAS for hosted repositories (src/cas/): chunk store and accounting under <data>/xet.
  cas::ServiceOptions xopts;
  xopts.dir = cfg.data_dir + "/xet";
  if (gate_rt->gate->enabled()) {  // reconstructions pass the same security gate as resolve
    xopts.download_gate = [g = gate_rt->gate.get(), st = store.get()](const cas::XetToken& t,
                                                                      const repo::FileEntry& f) -> std::optional<std::string> {
      gate::Subject who;
      who.repo = t.repo;
      who.revision = t.commit;
      who.path = f.path;
      who.client = "xet-token";
      auto v = g->lookup(f.sha256);
      std::string path;
      if (!v) {
        auto blob = st->open(f.sha256);  // cluster mode: the node's local copy, fetched on a miss
        if (blob) path = blob->path;
      }
      gate::Verdict verdict = v ? *v : g->verdict_for_file(f.sha256, path, who);
      auto d = g->decide(verdict, who);
      if (d.outcome == gate::Outcome::block) return d.message.empty() ? std::string("blocked by the security policy") : d.message;
      return std::nullopt;
    };
  }
  xopts.objects = xet_objects;
  xopts.cdn_url = cfg.cdn_url;
  auto xet = cas::Service::open(xopts, *signer, **catalog);
  if (!xet) return fatal(xet.error());
  cas::HotCopiesOptions hot_opts;  // whole-file copies as a bounded cache over the chunk store
  hot_opts.max_bytes = cfg.hot_copies_max_bytes;
  // Cluster mode keeps every copy unless a budget is given: evicting a copy removes the blob
  // from the object store (the chunks could rebuild it, but blobs are meant to live there).
  if (!cfg.hot_copies_max_bytes && !cfg.hot_copies_unlimited && !xet_objects) {
    // Default: a tenth of the file system that holds the data directory.
    struct statvfs fs {};
    std::uint64_t disk = ::statvfs(cfg.data_dir.c_str(), &fs) == 0 ? std::uint64_t(fs.f_blocks) * fs.f_frsize : 0;
    hot_opts.max_bytes = disk ? disk / 10 : (8ull << 30);
  }
  hot_opts.tmp_dir = spool_dir;
  hot_opts.scan_store = !xet_objects;  // never list (and fetch) a whole object store at start
  auto hot = cas::HotCopies::open(hot_opts, **xet, *store);
  if (!hot) return fatal(hot.error());

  // Pull-through cache (src/upstream/): on unless --upstream none.
  std::unique_ptr<cli::ClusterRuntime> cluster_rt;  // outlives the edge (its fill source uses it)
  std::unique_ptr<upstream::Edge> edge;
  if (cluster_cfg.enabled() && cfg.upstream == "none")
    return fatal(Error(Errc::invalid_argument, "--advertise coordinates upstream fills: it needs --upstream"));
  if (cfg.upstream != "none") {
    auto eo = edge_options(*args, cfg.upstream, cfg.data_dir + "/upstream");
    if (!eo) {
      std::fprintf(stderr, "hubgate serve: %s\n", eo.error().message.c_str());
      return 2;
    }
    eo->signatures = signatures;
    cli::wire_edge(*gate_rt, gate_cfg, *eo);  // security gate during fills and before serving
    eo->xet_chunks = &(*xet)->chunks();  // Xet pull-through shares the CAS chunk store
    eo->issue_xet_token = [x = xet->get()](const std::string& r, const std::string& c, std::int64_t* exp) {
      return x->issue_remote_token(r, c, exp);  // the edge serves Xet for remote files too
    };
    eo->xet_committed = [x = xet->get()](const upstream::FillSpec& s, const xet::MerkleHash& f, std::uint64_t size,
                                         std::uint64_t stored, std::uint64_t pulled) {
      (void)x->record_cached_file(s.origin.repo, f, size, stored, pulled);  // `hubgate xet stats`
    };
    if (cluster_cfg.enabled()) {
      auto rt = cli::open_cluster(cluster_cfg, s3_client, *eo);
      if (!rt) return fatal(rt.error());
      cluster_rt = std::move(*rt);
      if (level >= 2) std::fprintf(stderr, "hubgate: cluster member %s (%s)\n", cluster_rt->members->id().c_str(),
                                   cluster_cfg.advertise.c_str());
    }
    auto e = upstream::Edge::create(std::move(*eo));
    if (!e) return fatal(e.error());
    edge = std::move(*e);
    (*xet)->set_remote_file_hook([ep = edge.get()](const cas::XetToken& t, const xet::MerkleHash& h) {
      return ep->ensure_xet_file(t.repo.substr(7), t.commit, h.hex());  // "remote:" prefix
    });
  }

  http::Server* server_ptr = nullptr;
  hub::HubOptions hopts;
  hopts.xet = xet->get();
  hopts.hot = hot->get();
  hopts.public_url = cfg.public_url;
  hopts.cdn_url = cfg.cdn_url;
  hopts.upstream = cfg.upstream;
  hopts.signatures = signatures;
  hopts.s3_face = cfg.s3_face == "on";
  hopts.s3_domain = cfg.s3_domain;
  if (edge) {
    hopts.remote = [&edge](std::string_view route, http::Request& req, const std::string& type,
                           const std::string& repo, std::string_view rest, const std::string& base) {
      return edge->handle(route, req, type, repo, rest, base);
    };
    hopts.remote_metrics = [&edge, &cluster_rt] {
      return edge->metrics_text() + (cluster_rt ? cluster_rt->metrics_text() : std::string());
    };
  }
  cli::wire_hub(*gate_rt, gate_cfg, hopts);  // security gate for hosted repositories
  hopts.open_connections = [&server_ptr] { return server_ptr ? server_ptr->open_connections() : 0; };
  hub::Hub hub(hopts, **catalog, *store, **tokens, *signer);

  http::ServerOptions sopts;
  sopts.host = listen->first;
  sopts.port = listen->second;
  sopts.threads = cfg.threads;
  sopts.max_connections = cfg.max_connections;
  sopts.spool_dir = spool_dir;
  // Xet CAS uploads are verified by their own hashes; every other body's SHA-256 is computed
  // as it arrives (LFS objects are checked against it).
  sopts.hash_body = [](const http::Request& r) { return !r.path.starts_with("/cas/"); };
  http::Server server(
      sopts,
      [&](http::Request& req) {
        if (cluster_rt) {
          if (auto peer = cluster_rt->route(edge.get(), req)) return std::move(*peer);  // another node's fill
        }
        return hub.handle(req);
      },
      [&](const http::AccessRecord& r) {
        hub.record(r);
        char dur[32];
        std::snprintf(dur, sizeof dur, "%.3f", r.duration_ms);
        std::string line = "ts=" + utc_now() + " method=" + quote(r.method) + " path=" + quote(r.path) +
                           " status=" + std::to_string(r.status) + " bytes=" + std::to_string(r.bytes_sent) +
                           " rx=" + std::to_string(r.bytes_received) + " dur_ms=" + dur + " client=" + quote(r.client) +
                           " route=" + r.route + " id=" + r.request_id + "\n";
        std::lock_guard lk(log_mu);
        std::fputs(line.c_str(), log);
        std::fflush(log);
      });
  server_ptr = &server;
  http::block_termination_signals();
  if (auto r = server.start(); !r) return fatal(r.error());
  if (level >= 2) {
    std::fprintf(stderr, "hubgate: security gate %s\n", gate_cfg.enabled ? "on" : "off");
    std::fprintf(stderr, "hubgate: listening on http://%s:%u (data %s, upstream %s)\n", listen->first.c_str(),
                 unsigned(server.port()), cfg.data_dir.c_str(), cfg.upstream.c_str());
  }
  int sig = http::wait_for_termination_signal();
  if (level >= 2) std::fprintf(stderr, "hubgate: signal %d, draining connections\n", sig);
  server.drain();
  server.wait();
  server_ptr = nullptr;
  if (level >= 2) std::fprintf(stderr, "hubgate: stopped\n");
  if (log != stderr) std::fclose(log);
  return 0;
}

int token_main(int argc, char** argv) {
  constexpr const char* usage =
      "usage: hubgate token create [--data-dir DIR | --database URL] --name NAME [--write] [--repos PATTERN[,PATTERN...]] [--s3]\n"
      "  prints a new token (hf_hg_...); only its hash is stored. PATTERN globs ('*') match\n"
      "  'org/name' or 'datasets/org/name'; without --repos the token covers every repository.\n"
      "  --database postgresql://…: the tokens of a cluster (what `serve --database` uses).\n"
      "  --s3: an S3 access key pair for the S3 face instead (SigV4), printed as\n"
      "  AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines; the secret is stored as-is\n"
      "  (DIR/auth.db, mode 0600, or the database): the server needs it to recompute signatures.\n";
  auto args = cli::parse_args(argc, argv, {"--data-dir", "--name", "--repos", "--database"}, {"--write", "--help", "--s3"});
  if (!args || args->positional.size() != 1 || args->positional[0] != "create" || !args->has("--name")) {
    if (!args) std::fprintf(stderr, "hubgate token: %s\n", args.error().message.c_str());
    std::fputs(usage, args && args->flags.count("--help") ? stdout : stderr);
    return args && args->flags.count("--help") ? 0 : 2;
  }
  auto tokens = cli::open_tokens(args->get("--data-dir", "./data"), args->get("--database"));
  if (!tokens) {
    std::fprintf(stderr, "hubgate token: %s\n", tokens.error().message.c_str());
    return 1;
  }
  if (args->flags.count("--s3")) {
    auto k = (*tokens)->create_s3_key(args->get("--name"), args->flags.count("--write") > 0, args->get("--repos"));
    if (!k) {
      std::fprintf(stderr, "hubgate token: %s\n", k.error().message.c_str());
      return 1;
    }
    std::printf("AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", k->access_key.c_str(), k->secret.c_str());
    return 0;
  }
  auto t = (*tokens)->create(args->get("--name"), args->flags.count("--write") > 0, args->get("--repos"));
  if (!t) {
    std::fprintf(stderr, "hubgate token: %s\n", t.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", t->c_str());
  return 0;
}

}  // namespace hubgate
