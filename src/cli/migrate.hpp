// `hubgate store migrate`: moving a single-node data directory into a cluster (README.md
// "Moving up from one machine"). Private to src/cli/: store_migrate.cpp (the command, blobs and
// Xet objects) and migrate_metadata.cpp (the SQLite databases into PostgreSQL).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "db/pool.hpp"

namespace hubgate::cli {

// One progress line: "what: done/total (copied N, present N)".
using Progress = std::function<void(const std::string& line)>;

struct MetadataCounts {
  std::uint64_t repos = 0, commits = 0, tokens = 0, audit = 0, verdicts = 0;
};

// Copies meta.db, auth.db, audit.db and gate.db of `data_dir` (those present) into the migrated
// schema of `pool`. Idempotent: rows already there are kept (repositories matched by type and
// name; audit records by their content). Repository keys are the database's own: every row
// that names a repository is rewritten to its key there.
Result<MetadataCounts> migrate_metadata(const std::string& data_dir, db::Pool& pool, const Progress& progress);

}  // namespace hubgate::cli
