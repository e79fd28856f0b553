// The fixture of the audit::Log contract (audit_cases.cpp): each test opens logs on a database
// of its own (the first open creates it empty; later opens are other handles, e.g. `hubgate
// audit` beside the server). A backend is a name, an opener and a remover of named databases.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "audit/audit.hpp"

namespace hubgate::audit::testing {

struct AuditBackend {
  std::string name;
  std::function<Result<std::unique_ptr<Log>>(const std::string& db, bool fresh)> open;
  std::function<void(const std::string& db)> remove;
};

inline void PrintTo(const AuditBackend& b, std::ostream* os) { *os << b.name; }

class AuditTest : public ::testing::TestWithParam<AuditBackend> {
 protected:
  void SetUp() override {
    static int counter = 0;
    db_ = "a" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  }
  void TearDown() override { GetParam().remove(db_); }
  Result<std::unique_ptr<Log>> open_log() {
    auto r = GetParam().open(db_, first_);
    first_ = false;
    return r;
  }

 private:
  std::string db_;
  bool first_ = true;
};

inline Record rec(std::string repo, Kind kind, std::string decision, std::int64_t t) {
  Record r;
  r.repo = std::move(repo);
  r.kind = kind;
  r.decision = std::move(decision);
  r.time_ms = t;
  r.path = "model.bin";
  r.sha256 = std::string(64, 'a');
  r.client = "alice";
  r.remote = "127.0.0.1:5555";
  r.reason = "pickle.dangerous-global os.system";
  return r;
}

}  // namespace hubgate::audit::testing
