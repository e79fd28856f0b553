// Fuzz target for model-signing parsing: the input is read as a Sigstore bundle and as an
// in-toto statement. A parsed bundle must survive write -> parse, and goes through the
// signature checks (fixed key, certificate and Sigstore paths against the shared trust root)
// and the statement checks; nothing may crash, leak or read out of bounds.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sign/sigstore.hpp"
#include "sign/sign.hpp"
#include "util/atomic_file.hpp"

using namespace hubgate::sign;

namespace {
// The public key of the (test-only, discarded) key that signed the key-*.json seeds.
const char kKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqAMOXxk6JSbE6sbwawHiHtids4V3\n"
    "Bh3PdUBeRwj3/h8TXmlw44JmiUGiKolN97K1dtpFTBebcmJAflwqFXAQnQ==\n"
    "-----END PUBLIC KEY-----\n";

const SigstoreMethod* sigstore_method() {
  static const SigstoreMethod* m = [] {
    auto t = hubgate::read_file(std::string(HUBGATE_TESTDATA) + "/model-signing/reference/trust/custom_trust_config.json");
    return new SigstoreMethod{"stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2", t ? *t : std::string()};
  }();
  return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)statement_to_manifest(in);
  auto b = parse_bundle(in);
  if (!b) return 0;
  auto again = parse_bundle(write_bundle(*b));
  if (!again || again->envelope.payload != b->envelope.payload) std::abort();
  (void)verify_signature(*b, KeyMethod{kKey});
  (void)verify_signature(*b, CertificateMethod{kKey});
  (void)verify_signature(*b, *sigstore_method());
  return 0;
}
