#include "util/base64.hpp"

namespace hubgate {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    unsigned v = unsigned((unsigned char)data[i]) << 16 | unsigned((unsigned char)data[i + 1]) << 8 |
                 unsigned((unsigned char)data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (data.size() - i == 1) {
    unsigned v = unsigned((unsigned char)data[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (data.size() - i == 2) {
    unsigned v = unsigned((unsigned char)data[i]) << 16 | unsigned((unsigned char)data[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text, const Base64DecodeOptions& opts) {
  std::string clean;
  clean.reserve(text.size() + 2);
  bool padded = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (opts.skip_whitespace) continue;
      return fail(Errc::invalid_argument, "base64: whitespace not allowed");
    }
    if (opts.accept_url_safe && c == '-') c = '+';
    if (opts.accept_url_safe && c == '_') c = '/';
    if (c == '=') padded = true;
    clean += c;
  }
  if (!opts.require_padding && !padded && clean.size() % 4 != 1) {
    while (clean.size() % 4 != 0) clean += '=';
  }
  if (clean.size() % 4 != 0) return fail(Errc::invalid_argument, "base64: length is not a multiple of 4");
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    bool last = i + 4 == clean.size();
    int pad = 0;
    int v[4];
    for (int k = 0; k < 4; ++k) {
      char c = clean[i + std::size_t(k)];
      if (c == '=') {
        if (!last || k < 2) return fail(Errc::invalid_argument, "base64: misplaced padding");
        v[k] = 0;
        ++pad;
      } else {
        if (pad) return fail(Errc::invalid_argument, "base64: data after padding");
        v[k] = value_of(c);
        if (v[k] < 0) return fail(Errc::invalid_argument, "base64: invalid character");
      }
    }
    unsigned n = unsigned(v[0]) << 18 | unsigned(v[1]) << 12 | unsigned(v[2]) << 6 | unsigned(v[3]);
    out += char(n >> 16);
    if (pad < 2) out += char((n >> 8) & 255);
    if (pad < 1) out += char(n & 255);
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0)) {
      return fail(Errc::invalid_argument, "base64: non-zero trailing bits");
    }
  }
  return out;
}

}  // namespace hubgate
