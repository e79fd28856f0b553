// upstream::XetIndex — the edge's durable memory of which *upstream* Xet chunks it holds.
//
// Upstream reconstructions name chunks only by position: (upstream xorb hash, chunk index).
// A Xet fill that fetched and verified such a chunk records the row
//
//   (xorb, chunk index) -> chunk hash, record byte offset inside the xorb, record length
//
// so a later fill (the next revision of the same model) can tell, without any transfer, that
// the chunk is the one with that hash, and read it from the edge's own `xet::ChunkStore` when
// the store has it (`find_chunk`). Offsets (header offset of the record, whole record length
// with its 8-byte header) let a fill fetch a sub-range of a fetch_info byte range.
//
// Format: SQLite database `<cache dir>/xet_index.db`, WAL mode, one table
//   xet_chunks(xorb BLOB(32) raw hash, idx INTEGER, chunk BLOB(32) raw hash,
//              offset INTEGER NULL, length INTEGER NULL, PRIMARY KEY(xorb, idx)) WITHOUT ROWID
// Rows are only written by `commit()`, after the file they came from was verified (Xet file
// hash and sha256); a row that disagrees with an existing one replaces it (upstream is the
// authority on its xorbs, and both came from verified fills).
//
// Thread-safety: all methods may be called concurrently (one connection, serialized).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "xet/hash.hpp"

struct sqlite3;

namespace hubgate::upstream {

struct XetIndexRow {
  xet::MerkleHash xorb;              // upstream xorb
  std::uint32_t index = 0;           // chunk index inside it
  xet::MerkleHash chunk;             // chunk hash
  std::optional<std::uint64_t> offset;  // record header offset inside the xorb, when known
  std::optional<std::uint32_t> length;  // record length (header + payload), when known
  bool operator==(const XetIndexRow&) const = default;
};

class XetIndex {
 public:
  // Opens (creating) the database at `path`; ":memory:" for tests.
  static Result<std::unique_ptr<XetIndex>> open(const std::string& path);
  ~XetIndex();
  XetIndex(const XetIndex&) = delete;

  std::optional<XetIndexRow> get(const xet::MerkleHash& xorb, std::uint32_t index) const;
  // Every row of chunks [start, end) of `xorb` that exists (ordered by index).
  std::vector<XetIndexRow> range(const xet::MerkleHash& xorb, std::uint32_t start, std::uint32_t end) const;
  // Inserts or replaces `rows` in one transaction.
  Result<void> commit(std::span<const XetIndexRow> rows);
  std::uint64_t size() const;

 private:
  explicit XetIndex(sqlite3* db) : db_(db) {}
  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace hubgate::upstream
