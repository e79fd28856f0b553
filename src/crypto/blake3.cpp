// BLAKE3 hasher: chunk state, tree of chaining values, extendable output.
//
// The input is split into 1 KiB chunks; each chunk is hashed (16 blocks, counter = chunk index)
// to a 32-byte chaining value (CV), and CVs are merged pairwise into parent nodes up to the root.
// The root node is compressed with the ROOT flag, once per 64 bytes of output (XOF).
//
// Incremental hashing follows the reference design. The CVs of completed subtrees live on a
// stack; after N chunks the stack holds popcount(N) entries (one per set bit of N), and merging is
// lazy - a CV is only merged once more input proves it is not the root's child on the right edge.
// `update` buffers at most one chunk: when the caller supplies more than a chunk at once, the
// largest power-of-two run of whole chunks that fits the input and the tree alignment is hashed
// directly from the caller's buffer by `compress_subtree_wide`, which hashes up to `degree` chunks
// per SIMD `hash_many` call and then the parent levels `degree` nodes at a time, until 2 CVs
// remain, which are pushed on the stack.
#include "crypto/blake3.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto {

using namespace blake3_detail;

namespace {

// A node whose compression is postponed: it becomes a CV or, at the root, the output.
struct Output {
  std::uint32_t cv[8];
  std::uint8_t block[64];
  std::uint8_t block_len;
  std::uint64_t counter;
  std::uint8_t flags;

  void chaining_value(const Backend& be, std::uint8_t out[32]) const {
    std::uint32_t w[8];
    std::memcpy(w, cv, 32);
    be.compress_in_place(w, block, block_len, counter, flags);
    store_cv_words(out, w);
  }

  void root_bytes(const Backend& be, std::uint8_t* out, std::size_t len) const {
    std::uint64_t output_block = 0;
    std::uint8_t wide[64];
    while (len >= 64) {
      be.compress_xof(cv, block, block_len, output_block, flags | kRoot, out);
      out += 64;
      len -= 64;
      ++output_block;
    }
    if (len > 0) {
      be.compress_xof(cv, block, block_len, output_block, flags | kRoot, wide);
      std::memcpy(out, wide, len);
    }
  }
};

Output parent_output(const std::uint8_t block[64], const std::uint32_t key[8], std::uint8_t flags) {
  Output o;
  std::memcpy(o.cv, key, 32);
  std::memcpy(o.block, block, 64);
  o.block_len = 64;
  o.counter = 0;
  o.flags = flags | kParent;
  return o;
}

// The output node of a chunk (or its first `len` <= 1024 bytes) hashed from scratch.
Output chunk_output(const Backend& be, const std::uint8_t* data, std::size_t len,
                    const std::uint32_t key[8], std::uint64_t chunk_counter, std::uint8_t flags) {
  Output o;
  std::memcpy(o.cv, key, 32);
  std::uint8_t start = kChunkStart;
  while (len > kBlockLen) {
    be.compress_in_place(o.cv, data, kBlockLen, chunk_counter, flags | start);
    start = 0;
    data += kBlockLen;
    len -= kBlockLen;
  }
  std::memset(o.block, 0, sizeof o.block);
  if (len > 0) std::memcpy(o.block, data, len);
  o.block_len = static_cast<std::uint8_t>(len);
  o.counter = chunk_counter;
  o.flags = flags | start | kChunkEnd;
  return o;
}

// The output node of the hasher's current (open) chunk.
Output open_chunk_output(const std::uint32_t cv[8], const std::uint8_t buf[64],
                         std::uint8_t buf_len, std::uint8_t blocks_compressed,
                         std::uint64_t chunk_counter, std::uint8_t flags) {
  Output o;
  std::memcpy(o.cv, cv, 32);
  std::memcpy(o.block, buf, 64);
  o.block_len = buf_len;
  o.counter = chunk_counter;
  o.flags = flags | (blocks_compressed == 0 ? kChunkStart : 0) | kChunkEnd;
  return o;
}

std::array<std::uint32_t, 8> key_words(const Blake3::Key& key) {
  std::array<std::uint32_t, 8> w;
  load_key_words(key.data(), w.data());
  return w;
}

// Hashes up to `degree` chunks (the last may be partial) in one hash_many call. Returns the
// number of CVs written to `out`.
std::size_t compress_chunks_parallel(const Backend& be, const std::uint8_t* input, std::size_t len,
                                     const std::uint32_t key[8], std::uint64_t chunk_counter,
                                     std::uint8_t flags, std::uint8_t* out) {
  const std::uint8_t* chunks[kMaxSimdDegree];
  std::size_t n = 0;
  std::size_t pos = 0;
  while (len - pos >= kChunkLen) {
    chunks[n++] = input + pos;
    pos += kChunkLen;
  }
  be.hash_many(chunks, n, kChunkLen / kBlockLen, key, chunk_counter, true, flags, kChunkStart,
               kChunkEnd, out);
  if (len > pos) {
    chunk_output(be, input + pos, len - pos, key, chunk_counter + n, flags)
        .chaining_value(be, out + 32 * n);
    return n + 1;
  }
  return n;
}

// Compresses pairs of CVs into parent CVs in one hash_many call; an odd last CV is passed
// through. Returns the number of CVs written to `out`.
std::size_t compress_parents_parallel(const Backend& be, const std::uint8_t* cvs,
                                      std::size_t num_cvs, const std::uint32_t key[8],
                                      std::uint8_t flags, std::uint8_t* out) {
  const std::uint8_t* parents[kMaxSimdDegree];
  std::size_t n = 0;
  while (num_cvs - 2 * n >= 2) {
    parents[n] = cvs + 64 * n;
    ++n;
  }
  be.hash_many(parents, n, 1, key, 0, false, flags | kParent, 0, 0, out);
  if (num_cvs > 2 * n) {
    std::memcpy(out + 32 * n, cvs + 64 * n, 32);
    return n + 1;
  }
  return n;
}

// Length of the left subtree of an input of `len` > 1024 bytes: the largest power-of-two
// number of whole chunks that leaves at least one byte for the right side.
std::size_t left_subtree_len(std::size_t len) {
  std::size_t full_chunks = (len - 1) / kChunkLen;
  return std::bit_floor(full_chunks) * kChunkLen;
}

// Hashes a complete subtree (whose chunk counter is aligned to its size) down to at most
// max(degree, 2) CVs, written to `out`; returns their number (>= 2 when len > 1024).
std::size_t compress_subtree_wide(const Backend& be, const std::uint8_t* input, std::size_t len,
                                  const std::uint32_t key[8], std::uint64_t chunk_counter,
                                  std::uint8_t flags, std::uint8_t* out) {
  if (len <= be.degree * kChunkLen) {
    return compress_chunks_parallel(be, input, len, key, chunk_counter, flags, out);
  }
  std::size_t left_len = left_subtree_len(len);
  std::size_t right_len = len - left_len;
  std::uint64_t right_counter = chunk_counter + left_len / kChunkLen;

  std::uint8_t cv_array[2 * kMaxSimdDegree * 32];
  std::size_t degree = be.degree;
  // With degree 1 each side must still yield one CV per side, so that this level returns two.
  if (left_len > kChunkLen && degree == 1) degree = 2;
  std::size_t left_n = compress_subtree_wide(be, input, left_len, key, chunk_counter, flags,
                                             cv_array);
  std::size_t right_n = compress_subtree_wide(be, input + left_len, right_len, key, right_counter,
                                              flags, cv_array + degree * 32);
  if (left_n == 1) {  // degree 1: return the two children as they are
    std::memcpy(out, cv_array, 64);
    return 2;
  }
  return compress_parents_parallel(be, cv_array, left_n + right_n, key, flags, out);
}

// Hashes a subtree of >= 2 chunks down to exactly its two child CVs (64 bytes).
void compress_subtree_to_parent_node(const Backend& be, const std::uint8_t* input, std::size_t len,
                                     const std::uint32_t key[8], std::uint64_t chunk_counter,
                                     std::uint8_t flags, std::uint8_t out[64]) {
  std::uint8_t cv_array[kMaxSimdDegree * 32];
  std::size_t num_cvs =
      compress_subtree_wide(be, input, len, key, chunk_counter, flags, cv_array);
  std::uint8_t next[kMaxSimdDegree * 32 / 2];
  while (num_cvs > 2) {
    num_cvs = compress_parents_parallel(be, cv_array, num_cvs, key, flags, next);
    std::memcpy(cv_array, next, num_cvs * 32);
  }
  std::memcpy(out, cv_array, 64);
}

}  // namespace

Blake3::Blake3() : Blake3(kIV, 0) {}

Blake3::Blake3(const Key& key) : Blake3(key_words(key).data(), kKeyedHash) {}

Blake3::Blake3(const std::uint32_t key[8], std::uint8_t flags) : flags_(flags) {
  std::memcpy(key_, key, 32);
  reset_chunk(0);
}

Blake3 Blake3::derive_key(std::string_view context) {
  Blake3 ctx(kIV, kDeriveKeyContext);
  ctx.update(context);
  std::uint8_t context_key[32];
  ctx.finalize(context_key, sizeof context_key);
  std::uint32_t words[8];
  load_key_words(context_key, words);
  return Blake3(words, kDeriveKeyMaterial);
}

void Blake3::reset_chunk(std::uint64_t chunk_counter) {
  std::memcpy(chunk_cv_, key_, 32);
  chunk_counter_ = chunk_counter;
  std::memset(buf_, 0, sizeof buf_);
  buf_len_ = 0;
  blocks_compressed_ = 0;
}

std::size_t Blake3::chunk_len() const { return kBlockLen * blocks_compressed_ + buf_len_; }

// Adds bytes to the current chunk; the caller never overfills it. The last block stays buffered
// because only the finished chunk knows whether it carries CHUNK_END (or ROOT).
void Blake3::chunk_update(const std::uint8_t* data, std::size_t len) {
  const Backend& be = active_backend();
  if (buf_len_ > 0) {
    std::size_t take = std::min(kBlockLen - buf_len_, len);
    std::memcpy(buf_ + buf_len_, data, take);
    buf_len_ = static_cast<std::uint8_t>(buf_len_ + take);
    data += take;
    len -= take;
    if (len == 0) return;
    be.compress_in_place(chunk_cv_, buf_, kBlockLen, chunk_counter_,
                         flags_ | (blocks_compressed_ == 0 ? kChunkStart : 0));
    ++blocks_compressed_;
    buf_len_ = 0;
    std::memset(buf_, 0, sizeof buf_);
  }
  while (len > kBlockLen) {
    be.compress_in_place(chunk_cv_, data, kBlockLen, chunk_counter_,
                         flags_ | (blocks_compressed_ == 0 ? kChunkStart : 0));
    ++blocks_compressed_;
    data += kBlockLen;
    len -= kBlockLen;
  }
  std::memcpy(buf_, data, len);
  buf_len_ = static_cast<std::uint8_t>(len);
}

// Merges the top of the stack until it holds popcount(total_chunks) CVs: the shape of a tree of
// `total_chunks` chunks whose right edge is still open.
void Blake3::merge_cv_stack(std::uint64_t total_chunks) {
  const Backend& be = active_backend();
  std::size_t post_merge = static_cast<std::size_t>(std::popcount(total_chunks));
  while (cv_stack_len_ > post_merge) {
    std::uint8_t* parent = cv_stack_ + 32 * (cv_stack_len_ - 2);
    parent_output(parent, key_, flags_).chaining_value(be, parent);
    --cv_stack_len_;
  }
}

void Blake3::push_cv(const std::uint8_t cv[32], std::uint64_t chunk_counter) {
  merge_cv_stack(chunk_counter);
  std::memcpy(cv_stack_ + 32 * cv_stack_len_, cv, 32);
  ++cv_stack_len_;
}

void Blake3::update(ByteView data) {
  const Backend& be = active_backend();
  const std::uint8_t* in = data.data();
  std::size_t len = data.size();
  if (len == 0) return;

  // Finish a partly filled chunk first. A full chunk is only closed once more input arrives.
  if (chunk_len() > 0) {
    std::size_t take = std::min(kChunkLen - chunk_len(), len);
    chunk_update(in, take);
    in += take;
    len -= take;
    if (len == 0) return;
    std::uint8_t cv[32];
    open_chunk_output(chunk_cv_, buf_, buf_len_, blocks_compressed_, chunk_counter_, flags_)
        .chaining_value(be, cv);
    push_cv(cv, chunk_counter_);
    reset_chunk(chunk_counter_ + 1);
  }

  // Whole subtrees straight from the caller's buffer; keep at least one byte (up to a chunk)
  // for the chunk state, since the last chunk may be the root.
  while (len > kChunkLen) {
    std::uint64_t subtree_len = std::bit_floor(static_cast<std::uint64_t>(len));
    std::uint64_t count_so_far = chunk_counter_ * kChunkLen;
    // The subtree must be aligned to its size in the tree.
    while (((subtree_len - 1) & count_so_far) != 0) subtree_len /= 2;
    std::uint64_t subtree_chunks = subtree_len / kChunkLen;
    if (subtree_len <= kChunkLen) {
      std::uint8_t cv[32];
      chunk_output(be, in, subtree_len, key_, chunk_counter_, flags_).chaining_value(be, cv);
      push_cv(cv, chunk_counter_);
    } else {
      std::uint8_t pair[64];
      compress_subtree_to_parent_node(be, in, subtree_len, key_, chunk_counter_, flags_, pair);
      push_cv(pair, chunk_counter_);
      push_cv(pair + 32, chunk_counter_ + subtree_chunks / 2);
    }
    chunk_counter_ += subtree_chunks;
    in += subtree_len;
    len -= subtree_len;
  }

  if (len > 0) {
    chunk_update(in, len);
    merge_cv_stack(chunk_counter_);
  }
}

void Blake3::finalize(std::uint8_t* out, std::size_t len) const {
  const Backend& be = active_backend();
  Output current =
      open_chunk_output(chunk_cv_, buf_, buf_len_, blocks_compressed_, chunk_counter_, flags_);
  if (cv_stack_len_ == 0) {
    current.root_bytes(be, out, len);
    return;
  }
  std::size_t remaining;
  Output o;
  if (chunk_len() > 0) {
    remaining = cv_stack_len_;
    o = current;
  } else {
    // The input ended on a subtree boundary: there are at least two CVs on the stack.
    remaining = cv_stack_len_ - 2;
    o = parent_output(cv_stack_ + 32 * remaining, key_, flags_);
  }
  while (remaining > 0) {
    --remaining;
    std::uint8_t block[64];
    std::memcpy(block, cv_stack_ + 32 * remaining, 32);
    o.chaining_value(be, block + 32);
    o = parent_output(block, key_, flags_);
  }
  o.root_bytes(be, out, len);
}

Blake3::Hash Blake3::finalize() const {
  Hash h;
  finalize(h.data(), h.size());
  return h;
}

Blake3::Hash Blake3::hash(ByteView data) {
  Blake3 h;
  h.update(data);
  return h.finalize();
}

Blake3::Hash Blake3::keyed(const Key& key, ByteView data) {
  Blake3 h(key);
  h.update(data);
  return h.finalize();
}

const char* Blake3::implementation() { return active_backend().name; }

}  // namespace hubgate::crypto
