// Verification and signing, following the reference's order of checks: media type, the
// method's authenticity check (which yields the key), the DSSE signature over PAE(payload)
// (falling back to the v0.2.0 PAE bug, like the reference), the payload type, then the
// statement (type, predicate type, one subject, subject digest). Model matching happens after
// all of that, on manifests, so the same code serves files on disk and files in memory.
#include "sign/sign.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "sign/pki.hpp"
#include "sign/sigstore.hpp"
#include "util/atomic_file.hpp"

namespace hubgate::sign {

namespace {

template <class... Ts>
struct Overload : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overload(Ts...) -> Overload<Ts...>;

// Verifies the envelope's first signature with `key`; `compat_md` is the hash used for the
// v0.2.0 fallback (the reference uses the curve's hash for keys and SHA-256 for certificates).
Result<void> verify_envelope(const Envelope& env, const pki::Key& key, const EVP_MD* compat_md, SignatureCheck& out) {
  const std::string& sig = env.signatures[0].sig;
  if (pki::verify(key, pae(kInTotoPayloadType, env.payload), sig)) return {};
  if (pki::verify(key, pae_compat(kInTotoPayloadType, env.payload), sig, compat_md)) {
    out.legacy_pae = true;
    return {};
  }
  return fail(Errc::unauthenticated, "signature: DSSE signature does not verify with the " + key.curve +
                                         " key (payload or signature was altered, or wrong key)");
}

}  // namespace

Result<SignatureCheck> verify_signature(const Bundle& b, const VerifyMethod& method) {
  SignatureCheck out;
  const bool sigstore = std::holds_alternative<SigstoreMethod>(method);
  if (!sigstore && b.media_type != kBundleMediaType)
    return fail(Errc::unsupported, "bundle: media type " + b.media_type + ", expected " + std::string(kBundleMediaType));
  if (sigstore && b.media_type.rfind("application/vnd.dev.sigstore.bundle", 0) != 0)
    return fail(Errc::unsupported, "bundle: media type " + b.media_type + " is not a Sigstore bundle");
  if (b.envelope.signatures.size() != 1)
    return fail(Errc::unsupported, "bundle: expected exactly one DSSE signature, got " +
                                       std::to_string(b.envelope.signatures.size()));

  auto r = std::visit(
      Overload{
          [&](const KeyMethod& k) -> Result<void> {
            auto key = pki::load_public_key_pem(k.public_key_pem);
            if (!key) return fail(key.error().context("public key"));
            std::string hint = pki::key_hint(*key);
            out.signer = "key " + hint;
            if (b.has_public_key && !b.public_key_hint.empty()) {
              if (b.public_key_hint != hint)
                return fail(Errc::unauthenticated, "key mismatch: the bundle's publicKey.hint " + b.public_key_hint +
                                                       " does not match the given public key (" + hint + ")");
            } else if (b.has_public_key) {
              out.warnings.push_back("the bundle has no publicKey.hint (older format); the given key is used");
            } else {
              out.warnings.push_back("the bundle's certificates are ignored; only the given key is trusted");
            }
            return verify_envelope(b.envelope, *key, key->md, out);
          },
          [&](const CertificateMethod& c) -> Result<void> {
            if (b.cert_chain.empty())
              return fail(Errc::invalid_argument, "bundle: no x509CertificateChain (not signed with the certificate method)");
            auto roots = pki::parse_pem_certs(c.roots_pem);
            if (!roots) return fail(roots.error().context("certificate chain"));
            auto leaf = pki::parse_der(b.cert_chain[0]);
            if (!leaf) return fail(leaf.error().context("bundle leaf certificate"));
            std::vector<pki::Cert> inter;
            for (std::size_t i = 1; i < b.cert_chain.size(); ++i) {
              auto ci = pki::parse_der(b.cert_chain[i]);
              if (!ci) return fail(ci.error().context("bundle certificate " + std::to_string(i)));
              inter.push_back(*ci);
            }
            HG_TRY(auto nb, pki::not_before(*leaf));
            auto chain = pki::verify_chain(*leaf, inter, *roots, nb);
            if (!chain) return fail(chain.error().context("certificate '" + pki::subject(*leaf) + "'"));
            if (!pki::can_sign(*leaf))
              return fail(Errc::permission_denied, "certificate '" + pki::subject(*leaf) +
                                                       "' cannot be used for signing (no digitalSignature key usage, no codeSigning EKU)");
            auto key = pki::cert_public_key(*leaf);
            if (!key) return fail(key.error().context("leaf certificate"));
            out.signer = "certificate " + pki::subject(*leaf);
            return verify_envelope(b.envelope, *key, EVP_sha256(), out);
          },
          [&](const SigstoreMethod& s) -> Result<void> {
            auto root = sigstore::parse_trust_root(s.trust_config_json);
            if (!root) return fail(root.error().context("trust config"));
            auto v = sigstore::verify(b, *root, s.identity, s.issuer);
            if (!v) return fail(v.error());
            out.signer = "sigstore " + v->identity;
            out.not_checked = {"SCTs of the Fulcio certificate", "RFC 3161 timestamps"};
            return verify_envelope(b.envelope, v->leaf_key, EVP_sha256(), out);
          },
      },
      method);
  if (!r) return fail(r.error());
  if (b.envelope.payload_type != kInTotoPayloadType)
    return fail(Errc::unsupported, "envelope: expected payload type " + std::string(kInTotoPayloadType) + ", got " +
                                       b.envelope.payload_type);
  HG_TRY(auto st, statement_to_manifest(b.envelope.payload));
  out.expected = std::move(st.manifest);
  out.legacy_predicate = st.legacy;
  return out;
}

namespace {

std::string file_of(const std::string& name, Method m) {
  if (m == Method::files) return name;
  auto p2 = name.rfind(':');
  auto p1 = name.rfind(':', p2 - 1);
  return name.substr(0, p1);
}

bool under(const std::string& rel, const std::string& ig) {
  if (ig == "." || rel == ig) return true;
  return rel.size() > ig.size() && rel.compare(0, ig.size(), ig) == 0 && rel[ig.size()] == '/';
}

std::vector<std::string> ignore_set(const Manifest& expected, const MatchOptions& opt) {
  std::vector<std::string> out;
  auto add = [&](std::string_view p) {
    if (auto n = normalize_relative(p)) out.push_back(*n);
  };
  for (const auto& p : opt.ignore_paths) add(p);
  for (const auto& p : expected.serialization.ignore_paths) add(p);
  if (opt.ignore_git_paths)
    for (const char* g : kGitPaths) add(g);
  return out;
}

}  // namespace

Result<void> match_manifest(const Manifest& expected, const Manifest& actual_in, const MatchOptions& opt) {
  auto ignored = ignore_set(expected, opt);
  std::set<std::string> signed_files;
  for (const auto& r : expected.resources) signed_files.insert(file_of(r.name, expected.serialization.method));
  Manifest actual = actual_in;
  std::erase_if(actual.resources, [&](const Resource& r) {
    std::string f = file_of(r.name, expected.serialization.method);
    if (f != "." && std::any_of(ignored.begin(), ignored.end(), [&](const std::string& ig) { return under(f, ig); }))
      return true;
    return opt.ignore_unsigned_files && !signed_files.count(f);
  });
  return compare_manifests(expected, actual);
}

Result<SignatureCheck> verify_model(const std::filesystem::path& model, const Bundle& bundle, const VerifyMethod& method,
                                    const VerifyOptions& opt) {
  HG_TRY(auto check, verify_signature(bundle, method));
  const Manifest& exp = check.expected;
  HashOptions h;
  h.serialization = exp.serialization;
  if (opt.allow_symlinks) h.serialization.allow_symlinks = *opt.allow_symlinks;
  h.ignore_paths = opt.match.ignore_paths;
  h.ignore_git_paths = opt.match.ignore_git_paths;
  h.threads = opt.threads;
  h.record_ignore_paths = false;
  if (opt.match.ignore_unsigned_files) {
    std::vector<std::string> files;
    for (const auto& r : exp.resources) {
      std::string f = file_of(r.name, exp.serialization.method);
      if (files.empty() || files.back() != f) files.push_back(f);
    }
    files.erase(std::unique(files.begin(), files.end()), files.end());
    h.only_files = std::move(files);
  }
  HG_TRY(auto actual, compute_manifest(model, h));
  HG_TRY_VOID(match_manifest(exp, actual, opt.match));
  return check;
}

Result<SignatureCheck> verify_memory(const Bundle& bundle, const VerifyMethod& method,
                                     const std::vector<std::pair<std::string, ByteView>>& files,
                                     const MatchOptions& opt) {
  HG_TRY(auto check, verify_signature(bundle, method));
  HG_TRY(auto actual, manifest_from_memory(files, check.expected.serialization));
  HG_TRY_VOID(match_manifest(check.expected, actual, opt));
  return check;
}

Result<Bundle> sign_manifest(const Manifest& m, const SignerConfig& cfg) {
  auto key = pki::load_private_key_pem(cfg.private_key_pem, cfg.password);
  if (!key) return fail(key.error().context("private key"));
  Bundle b;
  b.media_type = std::string(kBundleMediaType);
  if (cfg.signing_certificate_pem.empty()) {
    b.has_public_key = true;
    b.public_key_hint = pki::key_hint(*key);
  } else {
    auto leaf = pki::parse_pem_certs(cfg.signing_certificate_pem);
    if (!leaf) return fail(leaf.error().context("signing certificate"));
    auto ck = pki::cert_public_key((*leaf)[0]);
    if (!ck) return fail(ck.error().context("signing certificate"));
    if (!pki::same_public_key(*ck, *key))
      return fail(Errc::invalid_argument, "the public key of the signing certificate does not match the private key");
    b.cert_chain.push_back(pki::to_der((*leaf)[0]));
    if (!cfg.certificate_chain_pem.empty()) {
      auto chain = pki::parse_pem_certs(cfg.certificate_chain_pem);
      if (!chain) return fail(chain.error().context("certificate chain"));
      for (const auto& c : *chain) b.cert_chain.push_back(pki::to_der(c));
    }
  }
  b.envelope.payload = write_statement(m);
  b.envelope.payload_type = std::string(kInTotoPayloadType);
  HG_TRY(auto sig, pki::sign(*key, pae(kInTotoPayloadType, b.envelope.payload)));
  b.envelope.signatures.push_back({std::move(sig), ""});
  return b;
}

}  // namespace hubgate::sign
