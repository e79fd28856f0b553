// Signature policy: parsing, first-match rule lookup, revision evaluation and the decision.
// evaluate_revision parses the bundle, tries each signer with verify_signature (first success
// wins, otherwise the last error is reported), then builds the actual manifest with the signed
// serialization: from the known sha256 digests when the signature is files/sha256 and every
// digest is known, else from the bytes (read through the callback), and compares it with
// match_manifest, ignoring the signature file itself.
#include "sign/policy.hpp"

#include <nlohmann/json.hpp>

#include "sign/sigstore.hpp"
#include "util/glob.hpp"
#include "util/atomic_file.hpp"

namespace hubgate::sign {

const PolicyRule* Policy::match(std::string_view repo) const {
  for (const auto& r : rules)
    if (glob_match(r.repos, repo)) return &r;
  return nullptr;
}

const char* status_name(SignatureStatus s) {
  switch (s) {
    case SignatureStatus::valid: return "valid";
    case SignatureStatus::invalid: return "invalid";
    default: return "absent";
  }
}

Result<Policy> parse_policy_json(std::string_view text, const std::filesystem::path& base_dir) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("policies") || !j["policies"].is_array())
    return fail(Errc::invalid_argument, "signing policy: expected {\"policies\": [...]}");
  auto pem = [&](const nlohmann::json& v, const char* what) -> Result<std::string> {
    if (!v.is_string() || v.get<std::string>().empty())
      return fail(Errc::invalid_argument, std::string("signing policy: ") + what + " must be a file name");
    std::filesystem::path p = v.get<std::string>();
    if (p.is_relative()) p = base_dir / p;
    auto d = read_file(p.string());
    if (!d) return fail(Errc::invalid_argument, "signing policy: cannot read " + p.string());
    if (d->find("-----BEGIN ") == std::string::npos)
      return fail(Errc::invalid_argument, "signing policy: " + p.string() + " is not PEM");
    return *d;
  };
  Policy pol;
  std::size_t i = 0;
  for (const auto& e : j["policies"]) {
    std::string where = "signing policy entry " + std::to_string(i++);
    if (!e.is_object() || !e.contains("repos") || !e["repos"].is_string() || e["repos"].get<std::string>().empty())
      return fail(Errc::invalid_argument, where + ": \"repos\" (glob) is required");
    PolicyRule r;
    r.repos = e["repos"].get<std::string>();
    if (e.contains("signature_file")) {
      if (!e["signature_file"].is_string()) return fail(Errc::invalid_argument, where + ": bad signature_file");
      auto n = normalize_relative(e["signature_file"].get<std::string>());
      if (!n || *n == ".") return fail(Errc::invalid_argument, where + ": bad signature_file");
      r.signature_file = *n;
    }
    if (e.contains("ignore_unsigned_files")) {
      if (!e["ignore_unsigned_files"].is_boolean())
        return fail(Errc::invalid_argument, where + ": ignore_unsigned_files must be a boolean");
      r.ignore_unsigned_files = e["ignore_unsigned_files"].get<bool>();
    }
    if (!e.contains("signers") || !e["signers"].is_array() || e["signers"].empty())
      return fail(Errc::invalid_argument, where + ": \"signers\" must list at least one signer");
    for (const auto& s : e["signers"]) {
      if (s.is_object() && s.size() == 1 && s.contains("public_key")) {
        auto k = pem(s["public_key"], "public_key");
        if (!k) return std::unexpected(k.error());
        r.signers.push_back(KeyMethod{*k});
      } else if (s.is_object() && s.size() == 1 && s.contains("certificate_roots")) {
        auto k = pem(s["certificate_roots"], "certificate_roots");
        if (!k) return std::unexpected(k.error());
        r.signers.push_back(CertificateMethod{*k});
      } else if (s.is_object() && s.size() == 1 && s.contains("sigstore") && s["sigstore"].is_object()) {
        const auto& g = s["sigstore"];
        auto str = [&](const char* k) -> std::string {
          return g.contains(k) && g[k].is_string() ? g[k].get<std::string>() : std::string();
        };
        if (str("identity").empty() || str("issuer").empty() || str("trust_root").empty())
          return fail(Errc::invalid_argument, where + ": sigstore needs \"identity\", \"issuer\" and \"trust_root\"");
        std::filesystem::path tp = str("trust_root");
        if (tp.is_relative()) tp = base_dir / tp;
        auto tr = read_file(tp.string());
        if (!tr) return fail(Errc::invalid_argument, "signing policy: cannot read " + tp.string());
        if (auto ok = sigstore::parse_trust_root(*tr); !ok)
          return fail(Errc::invalid_argument, "signing policy: " + tp.string() + ": " + ok.error().message);
        r.signers.push_back(SigstoreMethod{str("identity"), str("issuer"), *tr});
      } else {
        return fail(Errc::invalid_argument, where +
                                                ": a signer is {\"public_key\": F}, {\"certificate_roots\": F} or "
                                                "{\"sigstore\": {\"identity\", \"issuer\", \"trust_root\"}}");
      }
    }
    pol.rules.push_back(std::move(r));
  }
  return pol;
}

Result<Policy> load_policy_file(const std::filesystem::path& file) {
  auto d = read_file(file.string());
  if (!d) return fail(Errc::invalid_argument, "signing policy: cannot read " + file.string());
  return parse_policy_json(*d, file.parent_path());
}

RevisionSignature evaluate_revision(const PolicyRule& rule, const RevisionFiles& rev) {
  RevisionSignature out;
  bool present = false;
  for (const auto& f : rev.files) present = present || f.first == rule.signature_file;
  if (!present) return out;
  auto invalid = [&](std::string m) {
    out.status = SignatureStatus::invalid;
    out.message = rule.signature_file + ": " + std::move(m);
    return out;
  };
  if (!rev.read) return invalid("cannot read the signature file");
  auto text = rev.read(rule.signature_file);
  if (!text) return invalid(text.error().message);
  auto bundle = parse_bundle(*text);
  if (!bundle) return invalid(bundle.error().message);
  std::optional<SignatureCheck> check;
  std::string last_error = "no signer configured";
  for (const auto& m : rule.signers) {
    auto c = verify_signature(*bundle, m);
    if (c) {
      check = std::move(*c);
      break;
    }
    last_error = c.error().message;
  }
  if (!check) return invalid(last_error);
  const Serialization& ser = check->expected.serialization;
  std::vector<std::pair<std::string, std::string>> others;
  bool digests_known = true;
  for (const auto& f : rev.files) {
    if (f.first == rule.signature_file) continue;
    others.push_back(f);
    digests_known = digests_known && f.second.size() == 64;
  }
  Result<Manifest> actual = fail(Errc::invalid_argument, "no manifest");
  if (ser.method == Method::files && ser.hash == HashType::sha256 && digests_known) {
    actual = manifest_from_file_digests(others, ser);
  } else {
    std::vector<std::string> bytes;
    bytes.reserve(others.size());
    for (const auto& f : others) {
      auto b = rev.read(f.first);
      if (!b) return invalid("cannot read '" + f.first + "': " + b.error().message);
      bytes.push_back(std::move(*b));
    }
    std::vector<std::pair<std::string, ByteView>> mem;
    for (std::size_t i = 0; i < others.size(); ++i)
      mem.emplace_back(others[i].first, as_bytes(bytes[i]));
    actual = manifest_from_memory(mem, ser);
  }
  if (!actual) return invalid(actual.error().message);
  MatchOptions mo;
  mo.ignore_paths.push_back(rule.signature_file);
  mo.ignore_unsigned_files = rule.ignore_unsigned_files;
  auto ok = match_manifest(check->expected, *actual, mo);
  if (!ok) return invalid(ok.error().message);
  out.status = SignatureStatus::valid;
  out.signer = check->signer;
  return out;
}

Decision decide(const PolicyRule* rule, const RevisionSignature& sig) {
  Decision d;
  if (!rule || sig.status == SignatureStatus::valid) return d;
  d.serve = false;
  if (sig.status == SignatureStatus::absent) {
    d.error_code = "SignatureRequired";
    d.message = "repository requires a signature (" + rule->signature_file + ") by a trusted signer";
  } else {
    d.error_code = "SignatureInvalid";
    d.message = "signature check failed: " + sig.message;
  }
  return d;
}

}  // namespace hubgate::sign
