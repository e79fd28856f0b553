#include "crypto/sha.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "util/hex.hpp"

namespace hubgate::crypto {

namespace {
struct Ctx {
  EVP_MD_CTX* ctx;
  explicit Ctx(const EVP_MD* md) : ctx(EVP_MD_CTX_new()) {
    if (!ctx || EVP_DigestInit_ex(ctx, md, nullptr) != 1) throw std::bad_alloc();
  }
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};
}  // namespace

struct Sha256::Impl : Ctx {
  Impl() : Ctx(EVP_sha256()) {}
};
struct Sha1::Impl : Ctx {
  Impl() : Ctx(EVP_sha1()) {}
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
void Sha256::update(ByteView data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }
Digest32 Sha256::final() {
  Digest32 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return out;
}

Sha1::Sha1() : impl_(std::make_unique<Impl>()) {}
Sha1::~Sha1() = default;
Sha1::Sha1(Sha1&&) noexcept = default;
Sha1& Sha1::operator=(Sha1&&) noexcept = default;
void Sha1::update(ByteView data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }
Digest20 Sha1::final() {
  Digest20 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return out;
}

Digest32 sha256(ByteView data) {
  Sha256 h;
  h.update(data);
  return h.final();
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

GitBlobHasher::GitBlobHasher(std::uint64_t size) {
  std::string header = "blob " + std::to_string(size);
  header.push_back('\0');
  sha_.update(header);
}
std::string GitBlobHasher::final_hex() { return to_hex(sha_.final()); }

std::string git_blob_sha1_hex(std::string_view content) {
  GitBlobHasher h(content.size());
  h.update(as_bytes(content));
  return h.final_hex();
}

}  // namespace hubgate::crypto
