// `hubgate sign`, `hubgate verify`, `hubgate digest`: the reference CLI's names and flags
// (`model_signing sign key|certificate`, `verify key|certificate|sigstore`). Options are
// accepted with dashes or underscores (--private-key / --private_key). As in the reference,
// --ignore-paths and --signature are resolved against the current directory and only those
// inside the model apply. Exit status: 0 valid/signed, 1 failure (message on stderr naming the
// failing file or check), 2 usage error.
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "crypto/sha.hpp"
#include "sign/sign.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate {

namespace {

namespace fs = std::filesystem;

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> opts;
  bool has(const std::string& k) const { return opts.count(k) > 0; }
  std::string one(const std::string& k) const {
    auto it = opts.find(k);
    return it == opts.end() || it->second.empty() ? std::string() : it->second.back();
  }
  std::vector<std::string> many(const std::string& k) const {
    auto it = opts.find(k);
    return it == opts.end() ? std::vector<std::string>{} : it->second;
  }
};

// Flags without a value; every other option takes one (repeated options accumulate, like the
// reference's multiple=True options: --ignore-paths a --ignore-paths b).
const char* const kFlags[] = {"ignore-unsigned-files", "no-ignore-unsigned-files", "ignore-git-paths",
                              "no-ignore-git-paths", "allow-symlinks", "resources", "help"};

bool parse_args(int argc, char** argv, int first, Args& a, std::string& err) {
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h") s = "--help";
    if (s.rfind("--", 0) != 0 || s == "--") {
      a.positional.push_back(s);
      continue;
    }
    std::string key = s.substr(2), val;
    bool inline_val = false;
    if (auto eq = key.find('='); eq != std::string::npos) {
      val = key.substr(eq + 1);
      key = key.substr(0, eq);
      inline_val = true;
    }
    for (auto& c : key)
      if (c == '_') c = '-';
    if (key == "h") key = "help";
    bool flag = std::find_if(std::begin(kFlags), std::end(kFlags), [&](const char* k) { return key == k; }) != std::end(kFlags);
    if (flag) {
      a.opts[key];
      continue;
    }
    static const char* const kValued[] = {"private-key", "password", "signing-certificate", "certificate-chain",
                                           "signature", "ignore-paths", "method", "hash", "shard-size", "threads",
                                           "public-key", "identity", "identity-provider", "trust-config"};
    if (std::find_if(std::begin(kValued), std::end(kValued), [&](const char* k) { return key == k; }) == std::end(kValued)) {
      err = "unknown option --" + key;
      return false;
    }
    if (!inline_val) {
      if (i + 1 >= argc) {
        err = "option --" + key + " needs a value";
        return false;
      }
      val = argv[++i];
    }
    a.opts[key].push_back(val);
  }
  return true;
}

Result<std::string> read_text(const std::string& path, const char* what) {
  auto r = read_file(path);
  if (!r) return fail(r.error().context(what));
  return *r;
}

// Reference semantics: resolve against the cwd; keep only paths inside the model.
std::vector<std::string> resolve_inside(const fs::path& model, const std::vector<std::string>& paths) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(model), ec);
  std::vector<std::string> out;
  for (const auto& p : paths) {
    fs::path abs = fs::weakly_canonical(fs::absolute(p), ec);
    fs::path rel = abs.lexically_relative(root);
    std::string r = rel.generic_string();
    if (r.empty() || r == ".." || r.rfind("../", 0) == 0) continue;
    out.push_back(r);
  }
  return out;
}

Result<sign::Serialization> serialization_from(const Args& a) {
  sign::Serialization s;
  std::string m = a.one("method");
  if (m.empty() || m == "files") {
    s.method = sign::Method::files;
  } else if (m == "shards") {
    s.method = sign::Method::shards;
  } else {
    return fail(Errc::invalid_argument, "--method must be files or shards");
  }
  if (a.has("hash")) {
    HG_TRY(s.hash, sign::parse_hash_type(a.one("hash")));
  }
  if (a.has("shard-size")) {
    auto v = parse_u64(a.one("shard-size"));
    if (!v || *v == 0) return fail(Errc::invalid_argument, "--shard-size must be a positive integer");
    s.shard_size = *v;
  }
  s.allow_symlinks = a.has("allow-symlinks");
  return s;
}

unsigned threads_from(const Args& a) {
  if (!a.has("threads")) return 0;
  auto v = parse_u64(a.one("threads"));
  return v && *v <= 1024 ? static_cast<unsigned>(*v) : 0;
}

// Usage goes to stdout with exit status 0 when asked for (--help), else to stderr with 2.
int usage_sign(bool asked = false) {
  std::fputs(
      "usage: hubgate sign key MODEL_PATH --private-key KEY [--password P] [options]\n"
      "       hubgate sign certificate MODEL_PATH --private-key KEY --signing-certificate CERT\n"
      "                    [--certificate-chain CERT ...] [options]\n"
      "options: --signature PATH (default model.sig)  --ignore-paths PATH (repeatable)\n"
      "         --no-ignore-git-paths  --allow-symlinks  --method files|shards  --hash sha256|blake3|blake2b\n"
      "         --shard-size N (default 1000000000)  --threads N\n",
      asked ? stdout : stderr);
  return asked ? 0 : 2;
}

int usage_verify(bool asked = false) {
  std::fputs(
      "usage: hubgate verify key MODEL_PATH --signature SIG --public-key KEY [options]\n"
      "       hubgate verify certificate MODEL_PATH --signature SIG --certificate-chain CERT [...] [options]\n"
      "       hubgate verify sigstore MODEL_PATH --signature SIG --identity ID --identity-provider URL\n"
      "                      --trust-config FILE [options]\n"
      "options: --ignore-paths PATH (repeatable)  --ignore-unsigned-files  --no-ignore-git-paths\n"
      "         --allow-symlinks  --threads N\n"
      "exit status 0 only when the signature and every file verify.\n",
      asked ? stdout : stderr);
  return asked ? 0 : 2;
}

}  // namespace

int sign_main(int argc, char** argv) {
  Args a;
  std::string err;
  if (!parse_args(argc, argv, 1, a, err)) {
    std::fprintf(stderr, "hubgate sign: %s\n", err.c_str());
    return usage_sign();
  }
  if (a.has("help")) return usage_sign(true);
  if (a.positional.size() != 2) return usage_sign();
  const std::string& mode = a.positional[0];
  fs::path model = a.positional[1];
  if (mode != "key" && mode != "certificate") return usage_sign();
  if (!a.has("private-key")) {
    std::fputs("hubgate sign: --private-key is required\n", stderr);
    return 2;
  }
  if (mode == "certificate" && !a.has("signing-certificate")) {
    std::fputs("hubgate sign certificate: --signing-certificate is required\n", stderr);
    return 2;
  }
  auto run = [&]() -> Result<std::string> {
    std::string sig_path = a.has("signature") ? a.one("signature") : "model.sig";
    HG_TRY(auto ser, serialization_from(a));
    sign::HashOptions h;
    h.serialization = ser;
    auto ign = a.many("ignore-paths");
    ign.push_back(sig_path);
    h.ignore_paths = resolve_inside(model, ign);
    h.ignore_git_paths = !a.has("no-ignore-git-paths");
    h.threads = threads_from(a);
    HG_TRY(auto m, sign::compute_manifest(model, h));
    sign::SignerConfig cfg;
    HG_TRY(cfg.private_key_pem, read_text(a.one("private-key"), "private key"));
    cfg.password = a.one("password");
    if (mode == "certificate") {
      HG_TRY(cfg.signing_certificate_pem, read_text(a.one("signing-certificate"), "signing certificate"));
      for (const auto& c : a.many("certificate-chain")) {
        HG_TRY(auto t, read_text(c, "certificate chain"));
        cfg.certificate_chain_pem += t;
      }
    }
    HG_TRY(auto b, sign::sign_manifest(m, cfg));
    HG_TRY_VOID(write_file_atomic(sig_path, sign::write_bundle(b)));
    return sig_path + " (" + std::to_string(m.resources.size()) + " resources)";
  };
  auto r = run();
  if (!r) {
    std::fprintf(stderr, "Signing failed with error: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("Signing succeeded: %s\n", r->c_str());
  return 0;
}

int verify_main(int argc, char** argv) {
  Args a;
  std::string err;
  if (!parse_args(argc, argv, 1, a, err)) {
    std::fprintf(stderr, "hubgate verify: %s\n", err.c_str());
    return usage_verify();
  }
  if (a.has("help")) return usage_verify(true);
  if (a.positional.size() != 2) return usage_verify();
  const std::string& mode = a.positional[0];
  fs::path model = a.positional[1];
  if (!a.has("signature")) {
    std::fputs("hubgate verify: --signature is required\n", stderr);
    return 2;
  }
  sign::VerifyMethod method;
  auto load = [&]() -> Result<void> {
    if (mode == "key") {
      if (!a.has("public-key")) return fail(Errc::invalid_argument, "--public-key is required");
      HG_TRY(auto k, read_text(a.one("public-key"), "public key"));
      method = sign::KeyMethod{k};
    } else if (mode == "certificate") {
      if (!a.has("certificate-chain")) return fail(Errc::invalid_argument, "--certificate-chain is required (trust anchors)");
      std::string pem;
      for (const auto& c : a.many("certificate-chain")) {
        HG_TRY(auto t, read_text(c, "certificate chain"));
        pem += t;
      }
      method = sign::CertificateMethod{pem};
    } else if (mode == "sigstore") {
      if (!a.has("identity") || !a.has("identity-provider"))
        return fail(Errc::invalid_argument, "--identity and --identity-provider are required");
      if (!a.has("trust-config"))
        return fail(Errc::invalid_argument, "--trust-config is required (hubgate has no built-in Sigstore trust root; offline only)");
      HG_TRY(auto t, read_text(a.one("trust-config"), "trust config"));
      method = sign::SigstoreMethod{a.one("identity"), a.one("identity-provider"), t};
    } else {
      return fail(Errc::invalid_argument, "unknown method '" + mode + "' (key, certificate, sigstore)");
    }
    return {};
  };
  if (auto l = load(); !l) {
    std::fprintf(stderr, "hubgate verify: %s\n", l.error().message.c_str());
    return 2;
  }
  auto run = [&]() -> Result<sign::SignatureCheck> {
    std::string sig_path = a.one("signature");
    HG_TRY(auto text, read_text(sig_path, "signature"));
    HG_TRY(auto bundle, sign::parse_bundle(text));
    sign::VerifyOptions o;
    auto ign = a.many("ignore-paths");
    ign.push_back(sig_path);
    o.match.ignore_paths = resolve_inside(model, ign);
    o.match.ignore_git_paths = !a.has("no-ignore-git-paths");
    o.match.ignore_unsigned_files = a.has("ignore-unsigned-files") && !a.has("no-ignore-unsigned-files");
    if (a.has("allow-symlinks")) o.allow_symlinks = true;
    o.threads = threads_from(a);
    return sign::verify_model(model, bundle, method, o);
  };
  auto r = run();
  if (!r) {
    std::fprintf(stderr, "Verification failed with error: %s\n", r.error().message.c_str());
    return 1;
  }
  for (const auto& w : r->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& n : r->not_checked) std::fprintf(stderr, "note: not checked: %s\n", n.c_str());
  std::printf("Verification succeeded (%s, %zu resources)\n", r->signer.c_str(), r->expected.resources.size());
  return 0;
}

int digest_main(int argc, char** argv) {
  Args a;
  std::string err;
  const bool parsed = parse_args(argc, argv, 1, a, err);
  if (!parsed || a.has("help") || a.positional.size() != 1) {
    if (!err.empty()) std::fprintf(stderr, "hubgate digest: %s\n", err.c_str());
    const bool asked = parsed && a.has("help");
    std::fputs(
        "usage: hubgate digest MODEL_PATH [--method files|shards] [--hash sha256|blake3|blake2b]\n"
        "                      [--shard-size N] [--ignore-paths P ...] [--no-ignore-git-paths]\n"
        "                      [--allow-symlinks] [--threads N] [--resources]\n"
        "prints the model digest (sha256 over the resource digests, the statement's subject);\n"
        "--resources also lists every resource.\n",
        asked ? stdout : stderr);
    return asked ? 0 : 2;
  }
  fs::path model = a.positional[0];
  auto ser = serialization_from(a);
  if (!ser) {
    std::fprintf(stderr, "hubgate digest: %s\n", ser.error().message.c_str());
    return 2;
  }
  sign::HashOptions h;
  h.serialization = *ser;
  h.ignore_paths = resolve_inside(model, a.many("ignore-paths"));
  h.ignore_git_paths = !a.has("no-ignore-git-paths");
  h.threads = threads_from(a);
  auto m = sign::compute_manifest(model, h);
  if (!m) {
    std::fprintf(stderr, "Digest failed with error: %s\n", m.error().message.c_str());
    return 1;
  }
  crypto::Sha256 root;
  for (const auto& r : m->resources) {
    auto raw = from_hex(r.digest);
    if (raw) root.update(ByteView(raw->data(), raw->size()));
    if (a.has("resources")) std::printf("%s:%s  %s\n", r.algorithm.c_str(), r.digest.c_str(), r.name.c_str());
  }
  std::printf("%s\n", to_hex(root.final()).c_str());
  return 0;
}

}  // namespace hubgate
