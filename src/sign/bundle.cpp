// Bundle / envelope / statement parsing and writing on nlohmann::json in its non-throwing
// mode (`parse(..., nullptr, false)`), with explicit type checks on every field read: a field
// of the wrong type is an error naming its JSON path, never an exception. Protobuf-JSON
// conventions are honoured: int64 as string or number, bytes as base64 (standard or URL-safe,
// padding optional), `null` meaning absent.
#include "sign/bundle.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "crypto/sha.hpp"
#include "util/hex.hpp"

namespace hubgate::sign {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// ---- PAE ------------------------------------------------------------------------------------

std::string pae(std::string_view type, std::string_view payload) {
  std::string s = "DSSEv1 " + std::to_string(type.size()) + " " + std::string(type) + " " +
                  std::to_string(payload.size()) + " ";
  s += payload;
  return s;
}

std::string pae_compat(std::string_view type, std::string_view payload) {
  // Python's repr() of a bytes object.
  bool has_sq = payload.find('\'') != std::string_view::npos;
  bool has_dq = payload.find('"') != std::string_view::npos;
  char q = (has_sq && !has_dq) ? '"' : '\'';
  std::string r = "b";
  r += q;
  static constexpr char hexd[] = "0123456789abcdef";
  for (unsigned char c : payload) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c == '\t') {
      r += "\\t";
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      r += "\\x";
      r += hexd[c >> 4];
      r += hexd[c & 15];
    } else {
      r += static_cast<char>(c);
    }
  }
  r += q;
  return "DSSEV1 " + std::to_string(type.size()) + " " + std::string(type) + " " + std::to_string(payload.size()) +
         " " + r;
}

// ---- JSON helpers ---------------------------------------------------------------------------

namespace {

Error bad(std::string_view path, std::string_view what) {
  return Error(Errc::invalid_argument, "bundle: " + std::string(path) + ": " + std::string(what));
}

const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> get_string(const json& obj, const char* key, std::string_view path, bool required = true) {
  const json* v = field(obj, key);
  if (!v) {
    if (required) return fail(bad(std::string(path) + "." + key, "missing"));
    return std::string();
  }
  if (!v->is_string()) return fail(bad(std::string(path) + "." + key, "not a string"));
  return v->get<std::string>();
}

Result<std::string> get_bytes(const json& obj, const char* key, std::string_view path, bool required = true) {
  HG_TRY(auto s, get_string(obj, key, path, required));
  auto d = base64_decode(s);
  if (!d) return fail(bad(std::string(path) + "." + key, d.error().message));
  return *d;
}

Result<std::int64_t> get_int(const json& obj, const char* key, std::string_view path, bool required = true) {
  const json* v = field(obj, key);
  std::string p = std::string(path) + "." + key;
  if (!v) {
    if (required) return fail(bad(p, "missing"));
    return 0;
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (!v->is_string()) return fail(bad(p, "not an integer"));
  const auto& s = v->get_ref<const std::string&>();
  if (s.empty() || s.size() > 18) return fail(bad(p, "not an integer"));
  std::int64_t out = 0;
  std::size_t i = 0;
  bool neg = s[0] == '-';
  if (neg) i = 1;
  if (i == s.size()) return fail(bad(p, "not an integer"));
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return fail(bad(p, "not an integer"));
    out = out * 10 + (s[i] - '0');
  }
  return neg ? -out : out;
}

Result<const json*> get_array(const json& obj, const char* key, std::string_view path, std::size_t max, bool required) {
  const json* v = field(obj, key);
  std::string p = std::string(path) + "." + key;
  if (!v) {
    if (required) return fail(bad(p, "missing"));
    return nullptr;
  }
  if (!v->is_array()) return fail(bad(p, "not an array"));
  if (v->size() > max) return fail(Errc::limit_exceeded, "bundle: " + p + ": more than " + std::to_string(max) + " entries");
  return v;
}

Result<TlogEntry> parse_tlog(const json& e, const std::string& path) {
  if (!e.is_object()) return fail(bad(path, "not an object"));
  TlogEntry t;
  HG_TRY(t.log_index, get_int(e, "logIndex", path));
  if (const json* id = field(e, "logId")) {
    HG_TRY(t.log_key_id, get_bytes(*id, "keyId", path + ".logId"));
  }
  if (const json* kv = field(e, "kindVersion")) {
    HG_TRY(t.kind, get_string(*kv, "kind", path + ".kindVersion"));
    HG_TRY(t.version, get_string(*kv, "version", path + ".kindVersion"));
  }
  HG_TRY(t.integrated_time, get_int(e, "integratedTime", path, false));
  if (const json* ip = field(e, "inclusionPromise")) {
    HG_TRY(t.signed_entry_timestamp, get_bytes(*ip, "signedEntryTimestamp", path + ".inclusionPromise"));
  }
  if (const json* pr = field(e, "inclusionProof")) {
    std::string pp = path + ".inclusionProof";
    InclusionProof p;
    HG_TRY(p.log_index, get_int(*pr, "logIndex", pp));
    HG_TRY(p.root_hash, get_bytes(*pr, "rootHash", pp));
    HG_TRY(p.tree_size, get_int(*pr, "treeSize", pp));
    HG_TRY(const json* hs, get_array(*pr, "hashes", pp, 128, false));
    if (hs) {
      for (const auto& h : *hs) {
        if (!h.is_string()) return fail(bad(pp + ".hashes", "not a string"));
        auto d = base64_decode(h.get<std::string>());
        if (!d) return fail(bad(pp + ".hashes", d.error().message));
        p.hashes.push_back(*d);
      }
    }
    if (const json* cp = field(*pr, "checkpoint")) {
      HG_TRY(p.checkpoint, get_string(*cp, "envelope", pp + ".checkpoint", false));
    }
    t.inclusion_proof = std::move(p);
  }
  HG_TRY(t.canonicalized_body, get_bytes(e, "canonicalizedBody", path, false));
  return t;
}

}  // namespace

Result<Bundle> parse_bundle(std::string_view text) {
  if (text.size() > kMaxBundleBytes) return fail(Errc::limit_exceeded, "bundle: larger than 64 MiB");
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_argument, "bundle: not valid JSON");
  if (!j.is_object()) return fail(Errc::invalid_argument, "bundle: not a JSON object");
  Bundle b;
  HG_TRY(b.media_type, get_string(j, "mediaType", "$"));
  const json* vm = field(j, "verificationMaterial");
  if (!vm || !vm->is_object()) return fail(bad("$.verificationMaterial", "missing"));
  if (const json* pk = field(*vm, "publicKey")) {
    if (!pk->is_object()) return fail(bad("$.verificationMaterial.publicKey", "not an object"));
    b.has_public_key = true;
    HG_TRY(b.public_key_hint, get_string(*pk, "hint", "$.verificationMaterial.publicKey", false));
  }
  if (const json* ch = field(*vm, "x509CertificateChain")) {
    HG_TRY(const json* certs, get_array(*ch, "certificates", "$.verificationMaterial.x509CertificateChain", 64, true));
    for (std::size_t i = 0; i < certs->size(); ++i) {
      std::string p = "$.verificationMaterial.x509CertificateChain.certificates[" + std::to_string(i) + "]";
      HG_TRY(auto der, get_bytes((*certs)[i], "rawBytes", p));
      b.cert_chain.push_back(std::move(der));
    }
    if (b.cert_chain.empty()) return fail(bad("$.verificationMaterial.x509CertificateChain", "no certificates"));
  }
  if (const json* c = field(*vm, "certificate")) {
    HG_TRY(b.certificate, get_bytes(*c, "rawBytes", "$.verificationMaterial.certificate"));
  }
  int forms = b.has_public_key + !b.cert_chain.empty() + !b.certificate.empty();
  if (forms != 1) return fail(bad("$.verificationMaterial", "needs exactly one of publicKey, x509CertificateChain, certificate"));
  HG_TRY(const json* tl, get_array(*vm, "tlogEntries", "$.verificationMaterial", 16, false));
  if (tl) {
    for (std::size_t i = 0; i < tl->size(); ++i) {
      HG_TRY(auto t, parse_tlog((*tl)[i], "$.verificationMaterial.tlogEntries[" + std::to_string(i) + "]"));
      b.tlog_entries.push_back(std::move(t));
    }
  }
  if (const json* tv = field(*vm, "timestampVerificationData")) {
    if (const json* ts = field(*tv, "rfc3161Timestamps"); ts && ts->is_array()) b.rfc3161_timestamps = ts->size();
  }
  const json* env = field(j, "dsseEnvelope");
  if (!env) {
    if (field(j, "messageSignature")) return fail(Errc::unsupported, "bundle: messageSignature bundles are not model signatures");
    return fail(bad("$.dsseEnvelope", "missing"));
  }
  HG_TRY(b.envelope.payload, get_bytes(*env, "payload", "$.dsseEnvelope"));
  HG_TRY(b.envelope.payload_type, get_string(*env, "payloadType", "$.dsseEnvelope"));
  HG_TRY(const json* sigs, get_array(*env, "signatures", "$.dsseEnvelope", 16, true));
  for (std::size_t i = 0; i < sigs->size(); ++i) {
    std::string p = "$.dsseEnvelope.signatures[" + std::to_string(i) + "]";
    DsseSignature s;
    HG_TRY(s.sig, get_bytes((*sigs)[i], "sig", p));
    HG_TRY(s.keyid, get_string((*sigs)[i], "keyid", p, false));
    b.envelope.signatures.push_back(std::move(s));
  }
  if (b.envelope.signatures.empty()) return fail(bad("$.dsseEnvelope.signatures", "empty"));
  return b;
}

std::string write_bundle(const Bundle& b) {
  ojson vm = ojson::object();
  if (b.has_public_key) {
    vm["publicKey"] = ojson{{"hint", b.public_key_hint}};
  } else if (!b.cert_chain.empty()) {
    ojson certs = ojson::array();
    for (const auto& c : b.cert_chain) certs.push_back(ojson{{"rawBytes", base64_encode(c)}});
    vm["x509CertificateChain"] = ojson{{"certificates", certs}};
  } else if (!b.certificate.empty()) {
    vm["certificate"] = ojson{{"rawBytes", base64_encode(b.certificate)}};
  }
  vm["tlogEntries"] = ojson::array();
  ojson sigs = ojson::array();
  for (const auto& s : b.envelope.signatures) sigs.push_back(ojson{{"sig", base64_encode(s.sig)}, {"keyid", s.keyid}});
  ojson out;
  out["mediaType"] = b.media_type;
  out["verificationMaterial"] = vm;
  out["dsseEnvelope"] = ojson{{"payload", base64_encode(b.envelope.payload)},
                              {"payloadType", b.envelope.payload_type},
                              {"signatures", sigs}};
  return out.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

// ---- statement ------------------------------------------------------------------------------

namespace {

Error st_bad(std::string_view what) { return Error(Errc::invalid_argument, "statement: " + std::string(what)); }

Result<std::string> str_field(const json& o, const char* key, std::string_view where) {
  if (!o.is_object()) return fail(st_bad(std::string(where) + " is not an object"));
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return fail(st_bad(std::string(where) + "." + key + " missing or not a string"));
  return it->get<std::string>();
}

Result<std::string> lower_digest(std::string_view hex, std::string_view where) {
  auto raw = from_hex(hex);
  if (!raw || raw->empty() || raw->size() > 64) return fail(st_bad(std::string(where) + ": digest is not hex"));
  return to_hex(ByteView(raw->data(), raw->size()));
}

}  // namespace

Result<ParsedStatement> statement_to_manifest(std::string_view payload) {
  if (payload.size() > kMaxBundleBytes) return fail(Errc::limit_exceeded, "statement: larger than 64 MiB");
  json j = json::parse(payload.begin(), payload.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(st_bad("payload is not a JSON object"));
  HG_TRY(auto type, str_field(j, "_type", "$"));
  if (type != kStatementType)
    return fail(st_bad("expected _type " + std::string(kStatementType) + ", got " + type));
  HG_TRY(auto ptype, str_field(j, "predicateType", "$"));
  auto sit = j.find("subject");
  if (sit == j.end() || !sit->is_array()) return fail(st_bad("subject missing or not an array"));
  ParsedStatement ps;
  Manifest& m = ps.manifest;
  std::set<std::string> seen;
  if (ptype == kPredicateTypeLegacy) {
    ps.legacy = true;
    m.model_name = "compat-undefined-not-present";
    m.serialization = Serialization{};
    if (sit->size() > kMaxResources) return fail(Errc::limit_exceeded, "statement: too many subjects");
    for (const auto& s : *sit) {
      HG_TRY(auto name_raw, str_field(s, "name", "subject[]"));
      auto name = normalize_relative(name_raw);
      if (!name) return fail(st_bad("subject name '" + name_raw + "': " + name.error().message));
      auto d = s.find("digest");
      if (d == s.end()) return fail(st_bad("subject '" + *name + "' has no digest"));
      HG_TRY(auto hex, str_field(*d, "sha256", "subject.digest"));
      HG_TRY(auto dig, lower_digest(hex, "subject '" + *name + "'"));
      if (!seen.insert(*name).second) return fail(st_bad("duplicate resource '" + *name + "'"));
      m.resources.push_back({*name, "sha256", dig});
    }
    sort_resources(m.resources, m.serialization.method);
    return ps;
  }
  if (ptype != kPredicateType)
    return fail(st_bad("predicate type mismatch, expected " + std::string(kPredicateType) + ", got " + ptype));
  if (sit->size() != 1) return fail(st_bad("expected exactly one subject, got " + std::to_string(sit->size())));
  const json& subj = (*sit)[0];
  HG_TRY(m.model_name, str_field(subj, "name", "subject[0]"));
  auto dg = subj.is_object() ? subj.find("digest") : subj.end();
  if (!subj.is_object() || dg == subj.end()) return fail(st_bad("subject[0].digest missing"));
  HG_TRY(auto expected_root, str_field(*dg, "sha256", "subject[0].digest"));

  auto pit = j.find("predicate");
  if (pit == j.end() || !pit->is_object()) return fail(st_bad("predicate missing"));
  auto ser = pit->find("serialization");
  if (ser == pit->end() || !ser->is_object()) return fail(st_bad("predicate.serialization missing"));
  HG_TRY(auto method, str_field(*ser, "method", "serialization"));
  Serialization& s = m.serialization;
  if (method == "files") {
    s.method = Method::files;
  } else if (method == "shards") {
    s.method = Method::shards;
  } else {
    return fail(st_bad("unknown serialization method '" + method + "'"));
  }
  HG_TRY(auto ht, str_field(*ser, "hash_type", "serialization"));
  auto h = parse_hash_type(ht);
  if (!h) return fail(st_bad(h.error().message));
  s.hash = *h;
  auto as = ser->find("allow_symlinks");
  if (as == ser->end() || !as->is_boolean()) return fail(st_bad("serialization.allow_symlinks missing or not a boolean"));
  s.allow_symlinks = as->get<bool>();
  if (s.method == Method::shards) {
    auto ss = ser->find("shard_size");
    if (ss == ser->end() || !ss->is_number()) return fail(st_bad("serialization.shard_size missing or not a number"));
    if (ss->is_number_unsigned() || ss->is_number_integer()) {
      auto v = ss->get<std::int64_t>();
      if (v <= 0) return fail(st_bad("serialization.shard_size must be positive"));
      s.shard_size = static_cast<std::uint64_t>(v);
    } else {
      double d = ss->get<double>();
      if (!(d >= 1 && d <= 9.0e15) || d != static_cast<double>(static_cast<std::uint64_t>(d)))
        return fail(st_bad("serialization.shard_size is not a positive integer"));
      s.shard_size = static_cast<std::uint64_t>(d);
    }
  }
  if (auto ip = ser->find("ignore_paths"); ip != ser->end() && !ip->is_null()) {
    if (!ip->is_array() || ip->size() > 4096) return fail(st_bad("serialization.ignore_paths is not a list"));
    for (const auto& p : *ip) {
      if (!p.is_string()) return fail(st_bad("serialization.ignore_paths entry is not a string"));
      s.ignore_paths.push_back(p.get<std::string>());
    }
  }
  auto rit = pit->find("resources");
  if (rit == pit->end() || !rit->is_array()) return fail(st_bad("predicate.resources missing or not a list"));
  if (rit->size() > kMaxResources) return fail(Errc::limit_exceeded, "statement: too many resources");
  crypto::Sha256 root;
  for (std::size_t i = 0; i < rit->size(); ++i) {
    const json& r = (*rit)[i];
    std::string where = "resources[" + std::to_string(i) + "]";
    HG_TRY(auto name_raw, str_field(r, "name", where));
    HG_TRY(auto alg, str_field(r, "algorithm", where));
    HG_TRY(auto hex, str_field(r, "digest", where));
    auto raw = from_hex(hex);
    if (!raw || raw->empty() || raw->size() > 64) return fail(st_bad(where + " ('" + name_raw + "'): digest is not hex"));
    root.update(ByteView(raw->data(), raw->size()));
    std::string name;
    if (s.method == Method::files) {
      auto n = normalize_relative(name_raw);
      if (!n) return fail(st_bad("resource name '" + name_raw + "': " + n.error().message));
      name = *n;
    } else {
      auto p2 = name_raw.rfind(':');
      auto p1 = p2 == std::string::npos || p2 == 0 ? std::string::npos : name_raw.rfind(':', p2 - 1);
      if (p1 == std::string::npos || name_raw.find(':') != p1)
        return fail(st_bad("shard name '" + name_raw + "' is not path:start:end"));
      auto n = normalize_relative(std::string_view(name_raw).substr(0, p1));
      if (!n) return fail(st_bad("resource name '" + name_raw + "': " + n.error().message));
      auto num = [](std::string_view x, std::uint64_t& v) {
        if (x.empty() || x.size() > 19) return false;
        v = 0;
        for (char c : x) {
          if (c < '0' || c > '9') return false;
          v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return true;
      };
      std::uint64_t a = 0, e = 0;
      if (!num(std::string_view(name_raw).substr(p1 + 1, p2 - p1 - 1), a) || !num(std::string_view(name_raw).substr(p2 + 1), e) || a >= e)
        return fail(st_bad("shard name '" + name_raw + "' has bad offsets"));
      name = *n + ":" + std::to_string(a) + ":" + std::to_string(e);
    }
    if (!seen.insert(name).second) return fail(st_bad("duplicate resource '" + name + "'"));
    m.resources.push_back({name, alg, to_hex(ByteView(raw->data(), raw->size()))});
  }
  std::string obtained = to_hex(root.final());
  if (obtained != expected_root)
    return fail(Errc::corrupt, "statement: manifest is inconsistent: subject digest is " + expected_root +
                                   " but the resources hash to " + obtained);
  sort_resources(m.resources, m.serialization.method);
  return ps;
}

std::string write_statement(const Manifest& m) {
  crypto::Sha256 root;
  ojson res = ojson::array();
  for (const auto& r : m.resources) {
    auto raw = from_hex(r.digest);
    if (raw) root.update(ByteView(raw->data(), raw->size()));
    res.push_back(ojson{{"name", r.name}, {"algorithm", r.algorithm}, {"digest", r.digest}});
  }
  const Serialization& s = m.serialization;
  ojson ser;
  ser["method"] = method_name(s.method);
  ser["hash_type"] = hash_type_name(s.hash);
  if (s.method == Method::shards) ser["shard_size"] = s.shard_size;
  ser["allow_symlinks"] = s.allow_symlinks;
  if (!s.ignore_paths.empty()) ser["ignore_paths"] = s.ignore_paths;
  ojson st;
  st["_type"] = kStatementType;
  st["subject"] = ojson::array({ojson{{"name", m.model_name}, {"digest", ojson{{"sha256", to_hex(root.final())}}}}});
  st["predicateType"] = kPredicateType;
  st["predicate"] = ojson{{"serialization", ser}, {"resources", res}};
  return st.dump(2, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace hubgate::sign
