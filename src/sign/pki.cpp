// OpenSSL 3 EVP/X509 glue. Curves are identified by their group name; the hint re-encodes the
// key with PEM_write_bio_PUBKEY (64-column base64, the same bytes `cryptography` produces).
// Chain validation uses an X509_STORE with the given roots, the bundle's intermediates as the
// untrusted stack and X509_V_FLAG_USE_CHECK_TIME at the requested time.
#include "sign/pki.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "crypto/sha.hpp"
#include "util/hex.hpp"

namespace hubgate::sign::pki {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out;
}

namespace {

struct BioDel {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDel>;

BioPtr mem_bio(std::string_view s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string bio_string(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

Result<Key> classify(std::shared_ptr<EVP_PKEY> k) {
  if (EVP_PKEY_base_id(k.get()) != EVP_PKEY_EC) return fail(Errc::unsupported, "key is not an elliptic-curve key (only ECDSA P-256/P-384/P-521 are supported)");
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(k.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
    openssl_error();
    return fail(Errc::unsupported, "cannot read the key's curve");
  }
  std::string g(group);
  Key out;
  out.pkey = std::move(k);
  if (g == "prime256v1" || g == "P-256") {
    out.curve = "P-256";
    out.md = EVP_sha256();
  } else if (g == "secp384r1" || g == "P-384") {
    out.curve = "P-384";
    out.md = EVP_sha384();
  } else if (g == "secp521r1" || g == "P-521") {
    out.curve = "P-521";
    out.md = EVP_sha512();
  } else {
    return fail(Errc::unsupported, "unsupported key for curve '" + g + "' (P-256, P-384, P-521 only)");
  }
  return out;
}

Result<std::int64_t> asn1_time(const ASN1_TIME* t) {
  struct tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return fail(Errc::invalid_argument, "certificate: bad validity time");
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

Result<Key> load_public_key_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k) {
    std::string e = openssl_error();
    return fail(Errc::invalid_argument, "not a PEM public key" + (e.empty() ? "" : " (" + e + ")"));
  }
  return classify(own(k));
}

Result<Key> load_private_key_pem(std::string_view pem, const std::string& password) {
  auto bio = mem_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr,
                                        password.empty() ? nullptr : const_cast<char*>(password.c_str()));
  if (!k) {
    std::string e = openssl_error();
    return fail(Errc::invalid_argument, "not a PEM private key (or wrong password)" + (e.empty() ? "" : " (" + e + ")"));
  }
  return classify(own(k));
}

Result<Key> cert_public_key(const Cert& c) {
  EVP_PKEY* k = X509_get_pubkey(c.x509.get());
  if (!k) {
    openssl_error();
    return fail(Errc::invalid_argument, "certificate has no usable public key");
  }
  return classify(own(k));
}

std::string spki_der(const Key& k) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k.pkey.get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string key_hint(const Key& k) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), k.pkey.get());
  return crypto::sha256_hex(bio_string(bio.get()));
}

bool same_public_key(const Key& a, const Key& b) { return EVP_PKEY_eq(a.pkey.get(), b.pkey.get()) == 1; }

Result<void> verify(const Key& k, std::string_view data, std::string_view sig, const EVP_MD* md) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md ? md : k.md, nullptr, k.pkey.get()) != 1) {
    return fail(Errc::internal, "ECDSA verify init failed: " + openssl_error());
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  openssl_error();
  if (rc != 1) return fail(Errc::unauthenticated, "signature does not verify");
  return {};
}

Result<std::string> sign(const Key& k, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (EVP_DigestSignInit(ctx.get(), nullptr, k.md, nullptr, k.pkey.get()) != 1)
    return fail(Errc::internal, "ECDSA sign init failed: " + openssl_error());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return fail(Errc::internal, "ECDSA sign failed: " + openssl_error());
  std::string out(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return fail(Errc::internal, "ECDSA sign failed: " + openssl_error());
  out.resize(len);
  return out;
}

Result<Cert> parse_der(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) {
    openssl_error();
    return fail(Errc::invalid_argument, "not a DER X.509 certificate");
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    X509_free(x);
    return fail(Errc::invalid_argument, "trailing bytes after DER certificate");
  }
  return Cert{std::shared_ptr<X509>(x, X509_free)};
}

Result<std::vector<Cert>> parse_pem_certs(std::string_view pem) {
  auto bio = mem_bio(pem);
  std::vector<Cert> out;
  while (true) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    out.push_back(Cert{std::shared_ptr<X509>(x, X509_free)});
    if (out.size() > 1000) break;
  }
  openssl_error();
  if (out.empty()) return fail(Errc::invalid_argument, "no PEM certificate found");
  return out;
}

std::string to_der(const Cert& c) {
  unsigned char* der = nullptr;
  int n = i2d_X509(c.x509.get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string to_pem(const Cert& c) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), c.x509.get());
  return bio_string(bio.get());
}

std::string subject(const Cert& c) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(c.x509.get()), 0, XN_FLAG_RFC2253);
  return bio_string(bio.get());
}

Result<std::int64_t> not_before(const Cert& c) { return asn1_time(X509_get0_notBefore(c.x509.get())); }
Result<std::int64_t> not_after(const Cert& c) { return asn1_time(X509_get0_notAfter(c.x509.get())); }

Result<void> verify_chain(const Cert& leaf, const std::vector<Cert>& untrusted, const std::vector<Cert>& roots,
                          std::int64_t at_time) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  for (const auto& r : roots) X509_STORE_add_cert(store.get(), r.x509.get());
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain(sk_X509_new_null(),
                                                                    [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (const auto& u : untrusted) sk_X509_push(chain.get(), u.x509.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509.get(), chain.get()) != 1)
    return fail(Errc::internal, "X509_STORE_CTX_init: " + openssl_error());
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_time));
  int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    openssl_error();
    return fail(Errc::unauthenticated, std::string("certificate chain does not verify: ") +
                                           X509_verify_cert_error_string(err) + " (depth " + std::to_string(depth) + ")");
  }
  openssl_error();
  return {};
}

bool has_code_signing_eku(const Cert& c) {
  uint32_t flags = X509_get_extension_flags(c.x509.get());
  return (flags & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(c.x509.get()) & XKU_CODE_SIGN);
}

bool can_sign(const Cert& c) {
  uint32_t flags = X509_get_extension_flags(c.x509.get());
  if ((flags & EXFLAG_KUSAGE) && (X509_get_key_usage(c.x509.get()) & KU_DIGITAL_SIGNATURE)) return true;
  return has_code_signing_eku(c);
}

std::vector<std::string> san_values(const Cert& c) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.x509.get(), NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_EMAIL || gn->type == GEN_URI) {
      const ASN1_IA5STRING* s = gn->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_OTHERNAME && gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
      const ASN1_UTF8STRING* s = gn->d.otherName->value->value.utf8string;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  openssl_error();
  return out;
}

std::optional<std::string> extension_value(const Cert& c, const char* oid) {
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> obj(OBJ_txt2obj(oid, 1), ASN1_OBJECT_free);
  if (!obj) return std::nullopt;
  int idx = X509_get_ext_by_OBJ(c.x509.get(), obj.get(), -1);
  if (idx < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(c.x509.get(), idx);
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)), static_cast<std::size_t>(ASN1_STRING_length(v)));
}

}  // namespace hubgate::sign::pki
