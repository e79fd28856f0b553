// OpenSSL helpers for model signing: EC keys (P-256/P-384/P-521 only, like the reference),
// key hints, ECDSA sign/verify with the curve's hash, X.509 parsing, chain validation at a
// given time, and the certificate fields the policies look at. Owning wrappers release the
// OpenSSL objects; every function returns a value error instead of leaving OpenSSL's error
// queue for the caller (the queue is cleared). Thread-safety: objects are immutable after
// construction and may be shared between threads for reading.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace hubgate::sign::pki {

struct Key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string curve;       // "P-256", "P-384", "P-521"
  const EVP_MD* md = nullptr;  // SHA-256/384/512 by curve
};

struct Cert {
  std::shared_ptr<X509> x509;
};

// PEM public key (text before the PEM block is skipped, like OpenSSL/cryptography).
Result<Key> load_public_key_pem(std::string_view pem);
// PEM private key (PKCS#8 or SEC1), optionally encrypted with `password`.
Result<Key> load_private_key_pem(std::string_view pem, const std::string& password = {});
Result<Key> cert_public_key(const Cert& c);

// sha256 hex of the key's PEM SubjectPublicKeyInfo as OpenSSL re-encodes it (the bundle's
// publicKey.hint).
std::string key_hint(const Key& k);
// DER SubjectPublicKeyInfo.
std::string spki_der(const Key& k);
bool same_public_key(const Key& a, const Key& b);

// Verifies a DER ECDSA signature over `data` with `md` (nullptr = the curve's hash).
Result<void> verify(const Key& k, std::string_view data, std::string_view sig, const EVP_MD* md = nullptr);
// DER ECDSA signature over `data` with the curve's hash.
Result<std::string> sign(const Key& k, std::string_view data);

Result<Cert> parse_der(std::string_view der);
Result<std::vector<Cert>> parse_pem_certs(std::string_view pem);  // every CERTIFICATE block
std::string to_der(const Cert& c);
std::string to_pem(const Cert& c);
std::string subject(const Cert& c);  // one-line RFC 2253 form for messages
Result<std::int64_t> not_before(const Cert& c);
Result<std::int64_t> not_after(const Cert& c);

// Chain validation of `leaf` with `untrusted` intermediates to one of `roots`, as of
// `at_time` (unix seconds). No purpose check (like the reference's pyOpenSSL store).
Result<void> verify_chain(const Cert& leaf, const std::vector<Cert>& untrusted, const std::vector<Cert>& roots,
                          std::int64_t at_time);

// KeyUsage digitalSignature, or ExtendedKeyUsage codeSigning.
bool can_sign(const Cert& c);
bool has_code_signing_eku(const Cert& c);

// Subject alternative names of type email, URI and Fulcio's otherName (UTF8).
std::vector<std::string> san_values(const Cert& c);
// Raw extension value (the OCTET STRING contents) of the extension with dotted `oid`.
std::optional<std::string> extension_value(const Cert& c, const char* oid);

// Last OpenSSL error as text ("" when none); clears the queue.
std::string openssl_error();

}  // namespace hubgate::sign::pki
