// The PostgreSQL server of a test run: ARCA_TEST_PG_URL (set by tests/lib/with_pg.py).
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace arca::testing {

inline std::string PgUrl() {
  const char* url = std::getenv("ARCA_TEST_PG_URL");
  if (!url || !*url) {
    ADD_FAILURE() << "ARCA_TEST_PG_URL is not set: run under tests/lib/with_pg.py";
    return "";
  }
  return url;
}

// Runs sql on the test server as its administrator; false (and a test failure) on error.
inline bool PgAdmin(const std::string& sql) {
  PGconn* c = PQconnectdb(PgUrl().c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) ADD_FAILURE() << sql << ": " << PQerrorMessage(c);
    PQclear(r);
  } else {
    ADD_FAILURE() << "connect: " << PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

// A new, empty schema, and the URL of the test database with it as the search path: each
// test gets a database of its own, cheaply.
// extra_options: more server settings for the connection ("-cname%3Dvalue", URL-encoded).
inline std::string FreshSchemaUrl(const std::string& extra_options = "") {
  static std::atomic<int> n{0};
  std::string schema = "t" + std::to_string(getpid()) + "_" + std::to_string(n++);
  EXPECT_TRUE(PgAdmin("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema));
  std::string url = PgUrl();
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + schema + (extra_options.empty() ? "" : "%20" + extra_options);
}

}  // namespace arca::testing
