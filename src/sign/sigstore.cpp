// Offline Sigstore keyless verification (see sigstore.hpp for the list of checks). The Rekor
// signed entry timestamp covers the canonical JSON {"body","integratedTime","logID",
// "logIndex"} (keys sorted, no spaces); since it is verified before integratedTime is used,
// the Fulcio chain is validated at a time vouched for by the log. Inclusion proofs follow
// RFC 9162 §2.1.3.2; checkpoints are signed notes whose signature line carries the first
// 4 bytes of the log id as key hint.
#include "sign/sigstore.hpp"

#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "util/hex.hpp"

namespace hubgate::sign::sigstore {

using json = nlohmann::json;

namespace {

Error tr_bad(std::string_view what) { return Error(Errc::invalid_argument, "trust root: " + std::string(what)); }

Result<std::int64_t> parse_rfc3339(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z')
    return fail(tr_bad("bad time '" + s + "'"));
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  struct tm tm{};
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, se))
    return fail(tr_bad("bad time '" + s + "'"));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<std::int64_t>(timegm(&tm));
}

Result<Validity> parse_validity(const json& o) {
  Validity v;
  auto it = o.find("validFor");
  if (it == o.end() || !it->is_object()) return v;
  if (auto s = it->find("start"); s != it->end() && s->is_string()) {
    HG_TRY(v.start, parse_rfc3339(s->get<std::string>()));
  }
  if (auto e = it->find("end"); e != it->end() && e->is_string()) {
    HG_TRY(v.end, parse_rfc3339(e->get<std::string>()));
  }
  return v;
}

Result<std::string> b64_field(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return fail(tr_bad(std::string(key) + " missing"));
  auto d = base64_decode(it->get<std::string>());
  if (!d) return fail(tr_bad(std::string(key) + ": " + d.error().message));
  return *d;
}

std::string pem_wrap(std::string_view der, const char* label) {
  std::string b64 = base64_encode(der);
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += std::string("-----END ") + label + "-----\n";
  return out;
}

// Value of a DER UTF8String (the v2 Fulcio extensions).
std::optional<std::string> der_utf8(std::string_view v) {
  if (v.size() < 2 || static_cast<unsigned char>(v[0]) != 0x0c) return std::nullopt;
  std::size_t len = static_cast<unsigned char>(v[1]), off = 2;
  if (len & 0x80) {
    std::size_t n = len & 0x7f;
    if (n == 0 || n > 3 || v.size() < 2 + n) return std::nullopt;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = len << 8 | static_cast<unsigned char>(v[2 + i]);
    off = 2 + n;
  }
  if (v.size() != off + len) return std::nullopt;
  return std::string(v.substr(off));
}

std::string hash_children(std::string_view l, std::string_view r) {
  std::string buf(1, '\x01');
  buf += l;
  buf += r;
  auto d = crypto::sha256(buf);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

Result<void> verify_checkpoint(const std::string& note, const TrustRoot& root, const InclusionProof& p) {
  auto sep = note.find("\n\n");
  if (sep == std::string::npos) return fail(Errc::corrupt, "rekor: checkpoint is not a signed note");
  std::string body = note.substr(0, sep + 1);
  // body lines: origin, tree size, root hash (base64), optional extensions.
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < body.size();) {
    auto j = body.find('\n', i);
    lines.push_back(body.substr(i, j - i));
    i = j + 1;
  }
  if (lines.size() < 3) return fail(Errc::corrupt, "rekor: checkpoint body has fewer than 3 lines");
  if (lines[1] != std::to_string(p.tree_size))
    return fail(Errc::corrupt, "rekor: checkpoint tree size " + lines[1] + " differs from the proof's " + std::to_string(p.tree_size));
  auto rh = base64_decode(lines[2]);
  if (!rh || *rh != p.root_hash) return fail(Errc::corrupt, "rekor: checkpoint root hash differs from the proof's");
  static const std::string dash = "\xe2\x80\x94 ";
  std::string rest = note.substr(sep + 2);
  for (std::size_t i = 0; i < rest.size();) {
    auto j = rest.find('\n', i);
    if (j == std::string::npos) j = rest.size();
    std::string line = rest.substr(i, j - i);
    i = j + 1;
    if (line.rfind(dash, 0) != 0) continue;
    auto sp = line.rfind(' ');
    auto sig = base64_decode(line.substr(sp + 1));
    if (!sig || sig->size() < 5) continue;
    std::string hint = sig->substr(0, 4);
    for (const auto& log : root.tlogs) {
      if (log.key_id.compare(0, 4, hint) != 0) continue;
      if (pki::verify(log.key, body, sig->substr(4), EVP_sha256())) return {};
    }
  }
  return fail(Errc::unauthenticated, "rekor: no checkpoint signature verifies with a trusted log key");
}

}  // namespace

Result<TrustRoot> parse_trust_root(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(tr_bad("not a JSON object"));
  const json* tr = &j;
  if (auto it = j.find("trustedRoot"); it != j.end() && it->is_object()) tr = &*it;
  TrustRoot out;
  if (auto cas = tr->find("certificateAuthorities"); cas != tr->end() && cas->is_array()) {
    for (const auto& ca : *cas) {
      CertAuthority a;
      HG_TRY(a.valid, parse_validity(ca));
      auto chain = ca.find("certChain");
      if (chain == ca.end() || !chain->is_object()) return fail(tr_bad("certificate authority without certChain"));
      auto certs = chain->find("certificates");
      if (certs == chain->end() || !certs->is_array() || certs->empty()) return fail(tr_bad("empty certChain"));
      for (const auto& c : *certs) {
        HG_TRY(auto der, b64_field(c, "rawBytes"));
        HG_TRY(auto cert, pki::parse_der(der));
        a.chain.push_back(cert);
      }
      out.cas.push_back(std::move(a));
    }
  }
  if (auto tl = tr->find("tlogs"); tl != tr->end() && tl->is_array()) {
    for (const auto& l : *tl) {
      TransparencyLog t;
      auto pk = l.find("publicKey");
      auto id = l.find("logId");
      if (pk == l.end() || id == l.end() || !pk->is_object() || !id->is_object()) return fail(tr_bad("tlog without publicKey/logId"));
      HG_TRY(t.valid, parse_validity(*pk));
      HG_TRY(auto der, b64_field(*pk, "rawBytes"));
      auto key = pki::load_public_key_pem(pem_wrap(der, "PUBLIC KEY"));
      if (!key) continue;  // e.g. Ed25519 logs: not usable here
      t.key = *key;
      HG_TRY(t.key_id, b64_field(*id, "keyId"));
      out.tlogs.push_back(std::move(t));
    }
  }
  if (out.cas.empty() || out.tlogs.empty()) return fail(tr_bad("needs certificate authorities and transparency logs"));
  return out;
}

Result<void> verify_inclusion(std::string_view leaf, std::int64_t index, std::int64_t size,
                              const std::vector<std::string>& proof, std::string_view root) {
  if (index < 0 || size <= 0 || index >= size) return fail(Errc::corrupt, "rekor: inclusion proof index out of range");
  std::string lb(1, '\0');
  lb += leaf;
  auto d = crypto::sha256(lb);
  std::string r(reinterpret_cast<const char*>(d.data()), d.size());
  std::uint64_t fn = static_cast<std::uint64_t>(index), sn = static_cast<std::uint64_t>(size - 1);
  for (const auto& p : proof) {
    if (p.size() != 32) return fail(Errc::corrupt, "rekor: inclusion proof hash is not 32 bytes");
    if (sn == 0) return fail(Errc::corrupt, "rekor: inclusion proof is too long");
    if ((fn & 1) || fn == sn) {
      r = hash_children(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = hash_children(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(Errc::corrupt, "rekor: inclusion proof is too short");
  if (r != root) return fail(Errc::corrupt, "rekor: inclusion proof does not reproduce the root hash");
  return {};
}

Result<Verified> verify(const Bundle& b, const TrustRoot& root, const std::string& identity, const std::string& issuer) {
  std::string leaf_der = !b.certificate.empty() ? b.certificate : (b.cert_chain.empty() ? "" : b.cert_chain[0]);
  if (leaf_der.empty()) return fail(Errc::invalid_argument, "sigstore: bundle has no signing certificate");
  HG_TRY(auto leaf, pki::parse_der(leaf_der));
  if (b.tlog_entries.size() != 1)
    return fail(Errc::invalid_argument, "sigstore: expected exactly one Rekor entry, got " + std::to_string(b.tlog_entries.size()));
  const TlogEntry& e = b.tlog_entries[0];
  // 1. The Rekor entry: signed entry timestamp by a trusted log.
  const TransparencyLog* log = nullptr;
  for (const auto& l : root.tlogs)
    if (l.key_id == e.log_key_id) log = &l;
  if (!log) return fail(Errc::unauthenticated, "rekor: log id " + to_hex(e.log_key_id) + " is not in the trust root");
  if (!log->valid.contains(e.integrated_time)) return fail(Errc::unauthenticated, "rekor: log key not valid at integratedTime");
  if (e.signed_entry_timestamp.empty()) return fail(Errc::unauthenticated, "rekor: entry has no inclusion promise (SET)");
  std::string set_payload = "{\"body\":\"" + base64_encode(e.canonicalized_body) + "\",\"integratedTime\":" +
                            std::to_string(e.integrated_time) + ",\"logID\":\"" + to_hex(e.log_key_id) +
                            "\",\"logIndex\":" + std::to_string(e.log_index) + "}";
  if (!pki::verify(log->key, set_payload, e.signed_entry_timestamp, EVP_sha256()))
    return fail(Errc::unauthenticated, "rekor: signed entry timestamp does not verify");
  // 2. The body describes this envelope and this certificate.
  json body = json::parse(e.canonicalized_body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return fail(Errc::corrupt, "rekor: body is not JSON");
  if (body.value("kind", "") != "dsse" || body.value("apiVersion", "") != "0.0.1" || e.kind != "dsse")
    return fail(Errc::unsupported, "rekor: entry is not a dsse 0.0.1 record");
  const json& spec = body["spec"];
  std::string payload_hash;
  if (spec.is_object() && spec.contains("payloadHash") && spec["payloadHash"].is_object())
    payload_hash = spec["payloadHash"].value("value", "");
  if (payload_hash != crypto::sha256_hex(b.envelope.payload))
    return fail(Errc::unauthenticated, "rekor: the entry's payloadHash does not match the envelope payload");
  const json* sigs = spec.contains("signatures") ? &spec["signatures"] : nullptr;
  if (!sigs || !sigs->is_array() || sigs->size() != 1 || !(*sigs)[0].is_object())
    return fail(Errc::corrupt, "rekor: entry must carry exactly one signature");
  auto rsig = base64_decode((*sigs)[0].value("signature", ""));
  if (!rsig || *rsig != b.envelope.signatures[0].sig)
    return fail(Errc::unauthenticated, "rekor: the entry's signature differs from the envelope's");
  auto vpem = base64_decode((*sigs)[0].value("verifier", ""));
  auto vcert = vpem ? pki::parse_pem_certs(*vpem) : Result<std::vector<pki::Cert>>(fail(Errc::corrupt, ""));
  if (!vcert || pki::to_der((*vcert)[0]) != leaf_der)
    return fail(Errc::unauthenticated, "rekor: the entry's verifier is not the bundle's certificate");
  // 3. Inclusion proof and checkpoint (when present).
  if (e.inclusion_proof) {
    const auto& p = *e.inclusion_proof;
    HG_TRY_VOID(verify_inclusion(e.canonicalized_body, p.log_index, p.tree_size, p.hashes, p.root_hash));
    if (!p.checkpoint.empty()) HG_TRY_VOID(verify_checkpoint(p.checkpoint, root, p));
  }
  // 4. Fulcio chain at integratedTime.
  std::string chain_err = "no certificate authority of the trust root was valid at integratedTime";
  bool chained = false;
  for (const auto& ca : root.cas) {
    if (!ca.valid.contains(e.integrated_time)) continue;
    std::vector<pki::Cert> inter(ca.chain.begin(), ca.chain.end() - 1);
    auto r = pki::verify_chain(leaf, inter, {ca.chain.back()}, e.integrated_time);
    if (r) {
      chained = true;
      break;
    }
    chain_err = r.error().message;
  }
  if (!chained) return fail(Errc::unauthenticated, "sigstore: Fulcio certificate: " + chain_err);
  if (!pki::has_code_signing_eku(leaf)) return fail(Errc::permission_denied, "sigstore: certificate lacks the codeSigning EKU");
  // 5. Identity and issuer.
  auto sans = pki::san_values(leaf);
  if (std::find(sans.begin(), sans.end(), identity) == sans.end()) {
    std::string got;
    for (const auto& s : sans) got += (got.empty() ? "" : ", ") + s;
    return fail(Errc::permission_denied, "sigstore: identity mismatch: expected '" + identity + "', certificate has '" + got + "'");
  }
  std::string cert_issuer;
  if (auto v2 = pki::extension_value(leaf, "1.3.6.1.4.1.57264.1.8")) {
    cert_issuer = der_utf8(*v2).value_or("");
  } else if (auto v1 = pki::extension_value(leaf, "1.3.6.1.4.1.57264.1.1")) {
    cert_issuer = *v1;
  }
  if (cert_issuer != issuer)
    return fail(Errc::permission_denied, "sigstore: issuer mismatch: expected '" + issuer + "', certificate has '" + cert_issuer + "'");
  HG_TRY(auto key, pki::cert_public_key(leaf));
  return Verified{key, identity, e.integrated_time};
}

}  // namespace hubgate::sign::sigstore
