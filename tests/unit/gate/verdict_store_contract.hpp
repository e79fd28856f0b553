// The VerdictStore contract, run on SQLite (gate_tests) and PostgreSQL (gate_pg_tests): `open`
// opens a handle on one database (empty at the first call); a verdict survives into a second
// handle, is found only under its key and scanner version, and a put replaces it.
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include "gate/gate.hpp"

namespace hubgate::gate::testing {

inline void verdict_store_contract(const std::function<Result<std::unique_ptr<VerdictStore>>()>& open) {
  const std::string a(64, 'a'), b(64, 'b');
  Verdict v;
  v.sha256 = a;
  v.scanner_version = 3;
  v.severity = scan::Severity::suspicious;
  v.unscanned = true;
  v.format = "pickle";
  v.rule = "pickle.unknown-global";
  v.member = "archive/data.pkl";
  v.subject = "x.y";
  v.message = "m";
  v.status_json = R"({"status":"suspicious"})";
  v.scanned_ms = 1234;
  {
    auto s = open();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->put(a, v));
  }
  auto s = open();
  ASSERT_TRUE(s) << s.error().message;
  auto got = (*s)->get(a, 3);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->sha256, v.sha256);
  EXPECT_EQ((*got)->severity, v.severity);
  EXPECT_TRUE((*got)->unscanned);
  EXPECT_EQ((*got)->format, "pickle");
  EXPECT_EQ((*got)->rule, v.rule);
  EXPECT_EQ((*got)->member, v.member);
  EXPECT_EQ((*got)->subject, v.subject);
  EXPECT_EQ((*got)->status_json, v.status_json);
  EXPECT_EQ((*got)->scanned_ms, 1234);
  EXPECT_FALSE(*(*s)->get(a, 4));
  EXPECT_FALSE(*(*s)->get(b, 3));
  v.severity = scan::Severity::dangerous;  // a rescan replaces the row
  v.unscanned = false;
  ASSERT_TRUE((*s)->put(a, v));
  auto again = (*s)->get(a, 3);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->severity, scan::Severity::dangerous);
  EXPECT_FALSE((*again)->unscanned);
}

}  // namespace hubgate::gate::testing
