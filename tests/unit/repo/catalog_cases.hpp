// The fixture of the catalog contract (catalog_cases.cpp): each test gets a catalog on a fresh
// database of its own, with repository org/m created, and can open a second catalog on the same
// database (a second node). A backend is a name, an opener and a remover of named databases.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "repo/catalog.hpp"

namespace hubgate::repo::testing {

struct CatalogBackend {
  std::string name;
  // Opens the catalog of database `db`; `fresh`: the database is created empty first.
  std::function<Result<std::unique_ptr<Catalog>>(const std::string& db, bool fresh)> open;
  std::function<void(const std::string& db)> remove;
};

inline void PrintTo(const CatalogBackend& b, std::ostream* os) { *os << b.name; }

struct CatalogTest : ::testing::TestWithParam<CatalogBackend> {
  std::string db;
  std::unique_ptr<Catalog> cat;
  RepoRecord rec;

  void SetUp() override {
    static int counter = 0;
    db = "c" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    auto c = GetParam().open(db, true);
    ASSERT_TRUE(c) << c.error().message;
    cat = std::move(*c);
    auto r = cat->create_repo(*make_repo_id(RepoType::model, "org", "m"), false, 1700000000);
    ASSERT_TRUE(r) << r.error().message;
    rec = *r;
  }
  void TearDown() override {
    cat.reset();
    GetParam().remove(db);
  }
  std::unique_ptr<Catalog> second_node() {
    auto c = GetParam().open(db, false);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
  }
};

}  // namespace hubgate::repo::testing
