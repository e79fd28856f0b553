// `hubgate store migrate --from DIR --to-store s3://… --to-database postgresql://…`: copies a
// single-node data directory into a cluster. Content first — every LFS blob of DIR/store and
// every Xet xorb and shard of DIR/xet/objects, each hashed before it is sent (a blob by its
// SHA-256, which the object store checks again as the signed payload hash; a xorb by its
// recomputed merkle root; a shard by its BLAKE3 key) and its size read back after — then the
// metadata (migrate_metadata.cpp), so the cluster never names content it lacks. Objects already
// in the store (same key, same size) are skipped, so a second run, or one after an
// interruption, copies only what is missing. One progress line per hundred objects and per
// kind. Exit status 1 on the first error (nothing half-written stays visible: puts are whole).
#include <cstdio>
#include <filesystem>

#include "cli/args.hpp"
#include "cli/metadata.hpp"
#include "cli/migrate.hpp"
#include "cli/object_storage.hpp"
#include "crypto/blake3.hpp"
#include "crypto/sha.hpp"
#include "store/s3_store.hpp"
#include "store/store.hpp"
#include "xet/object_store.hpp"
#include "xet/s3_object_store.hpp"
#include "xet/xorb.hpp"

namespace hubgate {

namespace {

constexpr const char* kUsage =
    "usage: hubgate store migrate --from DIR --to-store s3://BUCKET[/PREFIX] --to-database postgresql://…\n"
    "                             [--s3-endpoint URL] [--s3-addressing path|virtual]\n"
    "  copies a single-node data directory into a cluster: LFS blobs and Xet objects into the\n"
    "  object store (each verified by its hash), then repositories, commits, tokens, gate\n"
    "  verdicts and the audit log into PostgreSQL (schema migrated first). Idempotent and\n"
    "  resumable: what is already there is skipped. Credentials: AWS_ACCESS_KEY_ID,\n"
    "  AWS_SECRET_ACCESS_KEY, AWS_REGION from the environment.\n";

struct Tally {
  std::string what;
  std::uint64_t total = 0, copied = 0, present = 0, bytes = 0;
  std::string line() const {
    return what + ": " + std::to_string(copied + present) + "/" + std::to_string(total) + " (copied " +
           std::to_string(copied) + ", " + std::to_string(bytes) + " bytes; already there " + std::to_string(present) +
           ")";
  }
};

void progress(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// After a put: the object is there with the size we sent.
Result<void> check_size(store::S3Client& s3, const std::string& key, std::uint64_t size) {
  HG_TRY(auto got, s3.head(key));
  if (!got || *got != size)
    return fail(Errc::corrupt, key + ": the object store holds " + (got ? std::to_string(*got) : "nothing") +
                                   " bytes after the copy, expected " + std::to_string(size));
  return {};
}

Result<Tally> copy_blobs(const std::string& dir, store::S3Client& s3) {
  Tally t{"blobs"};
  if (!std::filesystem::is_directory(dir + "/store")) return t;  // the source is only read
  HG_TRY(auto disk, store::DiskStore::open_at(dir + "/store"));
  HG_TRY(auto digests, disk->list());
  t.total = digests.size();
  for (const auto& d : digests) {
    HG_TRY(auto blob, disk->open(d));
    std::string key = store::S3Store::key_of(d);
    HG_TRY(auto there, s3.head(key));
    if (there && *there == blob.size) {
      ++t.present;
    } else {
      std::uint64_t size = 0;
      HG_TRY(auto sha, store::sha256_file(blob.path, &size));
      if (sha != d) return fail(Errc::corrupt, "blob " + d + " in " + dir + " hashes to " + sha + ": not copied");
      HG_TRY_VOID(s3.put_file_if_absent(key, blob.path, sha));  // the store checks the signed SHA-256
      HG_TRY_VOID(check_size(s3, key, size));
      ++t.copied;
      t.bytes += size;
    }
    if ((t.copied + t.present) % 100 == 0) progress(t.line());
  }
  return t;
}

// The key an object must have: a xorb's recomputed merkle root, a shard's BLAKE3.
Result<void> check_object(xet::ObjectKind kind, const xet::MerkleHash& key, const std::string& bytes) {
  xet::MerkleHash got;
  if (kind == xet::ObjectKind::xorb) {
    HG_TRY(auto x, xet::decode_xorb(as_bytes(bytes), /*keep_data=*/false));
    got = x.hash;
  } else {
    got.bytes = crypto::Blake3::hash(as_bytes(bytes));
  }
  if (got != key)
    return fail(Errc::corrupt, std::string(xet::object_kind_name(kind)) + " " + key.hex() + " hashes to " + got.hex() +
                                   ": not copied");
  return {};
}

Result<Tally> copy_objects(const std::string& dir, xet::ObjectKind kind, store::S3Client& s3) {
  Tally t{std::string("xet ") + xet::object_kind_name(kind)};
  if (!std::filesystem::is_directory(dir + "/xet/objects")) return t;
  HG_TRY(auto local, xet::LocalObjectStore::open(dir + "/xet/objects"));
  HG_TRY(auto keys, local->list(kind));
  t.total = keys.size();
  for (const auto& k : keys) {
    std::string key = xet::S3ObjectStore::key_of(kind, k);
    HG_TRY(auto size, local->size(kind, k));
    HG_TRY(auto there, s3.head(key));
    if (there && size && *there == *size) {
      ++t.present;
    } else {
      HG_TRY(auto bytes, local->get(kind, k));
      HG_TRY_VOID(check_object(kind, k, bytes));
      HG_TRY_VOID(s3.put_if_absent(key, bytes, crypto::sha256_hex(bytes)));
      HG_TRY_VOID(check_size(s3, key, bytes.size()));
      ++t.copied;
      t.bytes += bytes.size();
    }
    if ((t.copied + t.present) % 100 == 0) progress(t.line());
  }
  return t;
}

}  // namespace

int store_main(int argc, char** argv) {
  auto a = cli::parse_args(argc, argv, {"--from", "--to-store", "--to-database", "--s3-endpoint", "--s3-addressing"},
                           {"--help"});
  if (a && a->flags.count("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!a || a->positional.size() != 1 || a->positional[0] != "migrate" || !a->has("--from") ||
      !a->has("--to-store") || !a->has("--to-database")) {
    if (!a) std::fprintf(stderr, "hubgate store: %s\n", a.error().message.c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto fatal = [](const Error& e) {
    std::fprintf(stderr, "hubgate store migrate: %s\n", e.message.c_str());
    return e.code == Errc::invalid_argument ? 2 : 1;
  };
  const std::string dir = a->get("--from");
  if (!std::filesystem::is_directory(dir)) return fatal(Error(Errc::invalid_argument, "--from " + dir + ": no such directory"));
  auto cfg = cli::s3_config({a->get("--to-store"), a->get("--s3-endpoint"), a->get("--s3-addressing", "path"), "", "", ""});
  if (!cfg) return fatal(cfg.error());
  auto pool = cli::open_database(a->get("--to-database"), 2);
  if (!pool) return fatal(pool.error());
  store::S3Client s3(*cfg);
  auto blobs = copy_blobs(dir, s3);
  if (!blobs) return fatal(blobs.error());
  progress(blobs->line());
  for (auto kind : {xet::ObjectKind::xorb, xet::ObjectKind::shard}) {
    auto objs = copy_objects(dir, kind, s3);
    if (!objs) return fatal(objs.error());
    progress(objs->line());
  }
  auto meta = cli::migrate_metadata(dir, **pool, progress);
  if (!meta) return fatal(meta.error());
  progress("done: " + dir + " -> " + a->get("--to-store") + " + " + a->get("--to-database"));
  return 0;
}

}  // namespace hubgate
