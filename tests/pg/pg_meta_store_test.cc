// PostgreSQL's own tests, beyond the MetaStore contract: the shim's parameter rewriting and URL
// settings, replicas racing pushes against GC, a lost connection, migrations from two
// processes at once, and the hot queries staying on indexes over large tables.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <thread>

#include "meta/postgres/pg_conn.h"
#include "meta/postgres/pg_meta_store.h"
#include "meta_fixtures.h"
#include "pg_test_env.h"

namespace arca {
namespace {

using testing::FreshSchemaUrl;
using testing::PgAdmin;

std::unique_ptr<PgMetaStore> OpenStore(const std::string& url) {
  PgMetaStore::Options o;
  o.url = url;
  auto s = PgMetaStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().message() << ": " << s.status().detail();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string SchemaOf(const std::string& url) {
  size_t at = url.find("search_path%3D") + 14;
  return url.substr(at, url.find_first_of("%&", at) - at);
}

TEST(PgShim, ParametersBecomeDollarNumbers) {
  int n = 0;
  EXPECT_EQ(pg::ToDollarParams("SELECT ? , ?", &n), "SELECT $1 , $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(pg::ToDollarParams("x = ?2 OR y = ?1 OR z = ?", &n), "x = $2 OR y = $1 OR z = $3");
  EXPECT_EQ(n, 3);
  // Inside quoted strings and identifiers a question mark is text.
  EXPECT_EQ(pg::ToDollarParams("SELECT '?', \"a?\", ?", &n), "SELECT '?', \"a?\", $1");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(pg::ToDollarParams("SELECT 'it''s ?' || ?", &n), "SELECT 'it''s ?' || $1");
}

TEST(PgShim, UrlSettingsAreTakenOutAndChecked) {
  auto s = PgMetaStore::ParseUrl("postgres://u:p@h:5/db?sslmode=require&pool=4&pool_wait=250");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->conninfo, "postgres://u:p@h:5/db?sslmode=require");
  EXPECT_EQ(s->pool, 4u);
  EXPECT_EQ(s->pool_wait_ms, 250);
  EXPECT_FALSE(PgMetaStore::ParseUrl("postgres://h/db?pool=0").ok());
  EXPECT_FALSE(PgMetaStore::ParseUrl("postgres://h/db?pool=x").ok());
  EXPECT_FALSE(PgMetaStore::ParseUrl("mysql://h/db").ok());
  EXPECT_EQ(PgMetaStore::Redacted("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
  EXPECT_EQ(PgMetaStore::Redacted("postgres://u:se@cr:et@h:5/db?x=1"), "postgres://u:***@h:5/db?x=1");
  EXPECT_EQ(PgMetaStore::Redacted("postgres://h/db?user=u&password=secret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require");
}

TEST(PgMetaStore, TextItCannotHoldIsRefusedNeverCut) {
  auto s = OpenStore(FreshSchemaUrl());
  ASSERT_TRUE(s);
  NewManifest m = Manifest(D('1'), {}, {"t"}, "", "application/x");
  m.record.type = "application/x";
  ASSERT_TRUE(s->PutManifest("r", m).ok());
  ASSERT_EQ(s->ListArtifacts("r", "application/x", "", 10)->items.size(), 1u);
  // Cut at the NUL the filter would be "application/x" and match; not UTF-8, the server
  // would refuse it. Both are answered as invalid input.
  for (std::string bad : {std::string("application/x\0y", 15), std::string("application/\xff")}) {
    auto listed = s->ListArtifacts("r", bad, "", 10);
    ASSERT_FALSE(listed.ok());
    EXPECT_EQ(listed.status().code(), ErrorCode::kQueryInvalid);
    EXPECT_FALSE(s->GetTaggedManifest("r", bad).ok());
  }
  EXPECT_TRUE(s->ListArtifacts("r", "application/\xc3\xa9", "", 10)->items.empty());  // é is fine
}

TEST(PgMetaStore, AnUnreachableDatabaseIsUnavailable) {
  PgMetaStore::Options o;
  o.url = "postgres://nobody:x@127.0.0.1:1/none?connect_timeout=2";
  auto s = PgMetaStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
  // What a client could be shown names no host, port or user (the log has libpq's reason).
  EXPECT_EQ(s.status().detail().find("127.0.0.1"), std::string::npos) << s.status().detail();
  EXPECT_EQ(s.status().detail().find("nobody"), std::string::npos) << s.status().detail();
}

TEST(PgMetaStore, SchemaStepsAreRecordedAndAppliedOnce) {
  std::string url = FreshSchemaUrl();
  auto a = OpenStore(url);
  ASSERT_TRUE(a);
  auto described = PgMetaStore::DescribeSchema(url);
  ASSERT_TRUE(described.ok());
  EXPECT_NE(described->find("baseline"), std::string::npos) << *described;
  EXPECT_NE(described->find("upload-parts"), std::string::npos) << *described;
  EXPECT_EQ(described->find("pending"), std::string::npos) << *described;
  ASSERT_TRUE(PgMetaStore::MigrateSchema(url).ok());  // nothing left to do
  EXPECT_TRUE(OpenStore(url));
}

TEST(PgMetaStore, ReplicasMigratingAtOnceBothServe) {
  std::string url = FreshSchemaUrl();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      PgMetaStore::Options o;
      o.url = url;
      if (PgMetaStore::Open(o).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  auto s = OpenStore(url);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->PutManifest("r", Manifest(D('1'), {}, {"t"})).ok());
}

TEST(PgMetaStore, OneReplicaHoldsALeaseUntilItLetsGoOrItExpires) {
  std::string url = FreshSchemaUrl();
  auto a = OpenStore(url);
  auto b = OpenStore(url);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(*a->TakeLease("gc", "A", 60));
  EXPECT_FALSE(*b->TakeLease("gc", "B", 60));
  EXPECT_TRUE(*a->TakeLease("gc", "A", 60));  // renewed
  ASSERT_TRUE(a->ReleaseLease("gc", "A").ok());
  EXPECT_TRUE(*b->TakeLease("gc", "B", 1));
  EXPECT_FALSE(*a->TakeLease("gc", "A", 60));
  EXPECT_TRUE(*a->TakeLease("other", "A", 60));  // leases are by name
  // B dies without letting go: its lease expires on the database's clock.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_TRUE(*a->TakeLease("gc", "A", 60));
}

TEST(PgMetaStore, KeyHoldsExcludeOtherReplicasUntilReleased) {
  std::string url = FreshSchemaUrl();
  auto a = OpenStore(url);
  PgMetaStore::Options o;
  o.url = url + "&pool_wait=300";
  auto b = PgMetaStore::Open(o);
  ASSERT_TRUE(a && b.ok());
  {
    auto held = a->HoldKey("blob:sha256:x");
    ASSERT_TRUE(held.ok() && *held);
    auto other = (*b)->HoldKey("blob:sha256:x");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE((*b)->HoldKey("blob:sha256:y").ok());  // another key is free
  }
  auto now_free = (*b)->HoldKey("blob:sha256:x");
  EXPECT_TRUE(now_free.ok() && *now_free);
}

TEST(PgMetaStore, AHoldWhoseSessionWasLostIsNoLongerValid) {
  std::string url = FreshSchemaUrl();
  auto a = OpenStore(url);
  ASSERT_TRUE(a);
  auto held = a->HoldKey("blob:sha256:z");
  ASSERT_TRUE(held.ok() && *held);
  EXPECT_TRUE((*held)->Valid());
  // The database ends every session of the test database but the admin's (a restart would).
  ASSERT_TRUE(PgAdmin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> "
                      "pg_backend_pid() AND datname = current_database() AND query NOT LIKE "
                      "'%pg_terminate_backend%'"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE((*held)->Valid());  // another replica may have the lock now
  EXPECT_EQ(MetaStore::CheckHeld(held->get(), "blob").code(), ErrorCode::kUnavailable);
  // The next hold opens a new session; the old handle's release does not touch it.
  auto again = a->HoldKey("blob:sha256:z");
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_TRUE((*again)->Valid());
  held->reset();
  EXPECT_TRUE((*again)->Valid());
  PgMetaStore::Options o;
  o.url = url + "&pool_wait=300";
  auto b = PgMetaStore::Open(o);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE((*b)->HoldKey("blob:sha256:z").ok());  // still held by the new session
}

TEST(PgMetaStore, TheClockIsTheDatabases) {
  auto s = OpenStore(FreshSchemaUrl());
  ASSERT_TRUE(s);
  // The server runs on this machine: both clocks agree to within the measurement.
  EXPECT_NEAR(static_cast<double>(s->Clock()), static_cast<double>(std::time(nullptr)), 2.0);
}

// Replicas whose own clocks are an hour off either way still stamp records, judge leases and
// grace periods on one clock, the database's: one cannot take the lease the other holds as
// if it had expired, nor see a fresh record as old.
TEST(PgMetaStore, ReplicaClocksOffByAnHourDoNotMatter) {
  std::string url = FreshSchemaUrl();
  auto skewed = [&](int64_t offset_ms) {
    PgMetaStore::Options o;
    o.url = url;
    o.local_clock_ms = [offset_ms] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count() + offset_ms;
    };
    auto s = PgMetaStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : nullptr;
  };
  auto behind = skewed(-3600 * 1000), ahead = skewed(3600 * 1000);
  ASSERT_TRUE(behind && ahead);
  double now = static_cast<double>(std::time(nullptr));  // the server runs on this machine
  EXPECT_NEAR(static_cast<double>(behind->Clock()), now, 2.0);
  EXPECT_NEAR(static_cast<double>(ahead->Clock()), now, 2.0);
  // The replica an hour behind takes the lease for a minute; the one an hour ahead would see
  // it long expired on its own clock, and must not take it.
  ASSERT_TRUE(*behind->TakeLease("gc", "behind", 60));
  EXPECT_FALSE(*ahead->TakeLease("gc", "ahead", 60));
  // A blob linked by the one ahead is not an hour old to the one behind.
  ASSERT_TRUE(ahead->LinkBlob("r", D('c'), 1).ok());
  auto link = behind->FindBlobLink("r", D('c'));
  ASSERT_TRUE(link.ok() && link->has_value());
  EXPECT_NEAR(static_cast<double>((*link)->linked_at), now, 2.0);
}

// Two replicas: one pushes images (a blob, then a manifest over it) while the other runs GC
// passes whose clock is far past every grace period. SERIALIZABLE must order each push and
// each review: no stored manifest may ever reference a blob link GC removed.
TEST(PgMetaStore, PushesOnOneReplicaAndGcOnAnotherNeverLeaveADanglingReference) {
  std::string url = FreshSchemaUrl();
  auto pusher = OpenStore(url);
  auto collector = OpenStore(url);
  ASSERT_TRUE(pusher && collector);
  std::atomic<bool> done{false};
  std::atomic<int> passes{0};
  std::thread gc([&] {
    GcOptions o;
    o.now = static_cast<int64_t>(std::time(nullptr)) + 30 * 86400;
    o.batch = 8;
    while (!done) {
      auto step = collector->CollectStep(o);
      EXPECT_TRUE(step.ok()) << step.status().detail();
      ++passes;
    }
  });
  int stored = 0, refused = 0;
  for (int i = 0; i < 150; ++i) {
    std::string blob = Digest::Of(DigestAlgorithm::kSha256, "blob" + std::to_string(i)).str();
    ASSERT_TRUE(pusher->LinkBlob("app", blob, 4).ok());
    NewManifest m = Manifest(Digest::Of(DigestAlgorithm::kSha256, "m" + std::to_string(i)).str(),
                             {ManifestRef{RefKind::kLayer, Desc(blob, 4), false}},
                             {"v" + std::to_string(i)});
    Status s = pusher->PutManifest("app", m);
    if (s.ok()) {
      ++stored;
    } else {
      // GC took the unreferenced link first: the push is refused, never half-stored.
      EXPECT_EQ(s.code(), ErrorCode::kManifestBlobUnknown) << s.detail();
      ++refused;
    }
  }
  done = true;
  gc.join();
  auto dangling = pusher->FindDanglingReferences();
  ASSERT_TRUE(dangling.ok());
  EXPECT_TRUE(dangling->empty()) << dangling->size() << " dangling, first "
                                 << (*dangling)[0].digest;
  EXPECT_GT(stored, 0);
  EXPECT_GT(passes.load(), 0);
  // Everything stored is still whole.
  auto tags = pusher->ListTags("app", "", 1000);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(static_cast<int>(tags->items.size()), stored);
  std::printf("pushes stored %d, refused %d; %d GC steps; retries %llu + %llu\n", stored, refused,
              passes.load(), static_cast<unsigned long long>(pusher->retries()),
              static_cast<unsigned long long>(collector->retries()));
}

TEST(PgMetaStore, ALostConnectionIsReplacedAndTheWriteGoesThrough) {
  std::string url = FreshSchemaUrl();
  auto s = OpenStore(url);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->LinkBlob("r", D('a'), 1).ok());
  // Every connection of the store is cut (as a database restart or a proxy would).
  ASSERT_TRUE(PgAdmin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> "
                      "pg_backend_pid() AND datname = current_database() AND query NOT LIKE "
                      "'%pg_terminate_backend%'"));
  EXPECT_TRUE(s->LinkBlob("r", D('b'), 1).ok());
  EXPECT_TRUE(s->BlobInRepository("r", D('b'))->has_value());
}

// A read whose connection is lost while it runs (the database restarting under it) is run
// again on a fresh connection: the caller sees its answer, not a 503. The read is caught
// mid-flight by a lock another session holds on the table; its backend is then terminated.
TEST(PgMetaStore, AReadCutOffMidwayIsRunAgainOnAFreshConnection) {
  std::string url = FreshSchemaUrl();
  auto s = OpenStore(url);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->LinkBlob("r", D('a'), 1).ok());
  PGconn* locker = PQconnectdb(PgMetaStore::ParseUrl(url)->conninfo.c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK) << PQerrorMessage(locker);
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(locker, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    std::string one = ok && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    EXPECT_TRUE(ok) << sql << ": " << PQerrorMessage(locker);
    PQclear(r);
    return one;
  };
  exec("BEGIN");
  exec("LOCK TABLE repositories IN ACCESS EXCLUSIVE MODE");
  uint64_t retries_before = s->retries();
  Result<bool> exists = false;
  std::thread reader([&] { exists = s->RepositoryExists("r"); });
  // Waits for a backend other than `other` to wait on the lock: the reader's.
  auto waiting_reader = [&](const std::string& other) -> std::string {
    for (int i = 0; i < 1000; ++i) {
      exec("SELECT pg_stat_clear_snapshot()");  // else a transaction sees one snapshot
      std::string pid = exec("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                             "AND pid <> pg_backend_pid() AND datname = current_database() "
                             "AND pid <> " + other);
      if (!pid.empty()) return pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  };
  std::string first = waiting_reader("0");
  ASSERT_FALSE(first.empty()) << "the read never waited on the lock";
  exec("SELECT pg_terminate_backend(" + first + ")");
  // The read, again, on another connection.
  EXPECT_FALSE(waiting_reader(first).empty()) << "the read was not run again";
  exec("COMMIT");
  reader.join();
  PQfinish(locker);
  ASSERT_TRUE(exists.ok()) << exists.status().message() << ": " << exists.status().detail();
  EXPECT_TRUE(*exists);
  EXPECT_GT(s->retries(), retries_before);
}

// The hot queries over tables of 50,000 rows: every call of the registry's read and write
// paths is answered through indexes. PostgreSQL's own counters say whether any statement read
// a large table sequentially.
TEST(PgMetaStore, HotQueriesUseIndexesOnLargeTables) {
  // Generic plans, as PostgreSQL switches to after a prepared statement's fifth run: the plan
  // must use an index whatever the parameters' values.
  std::string url = FreshSchemaUrl("-cplan_cache_mode%3Dforce_generic_plan");
  std::string schema = SchemaOf(url);
  {
    auto s = OpenStore(url);
    ASSERT_TRUE(s);
  }
  const std::string in = "SET search_path = " + schema + "; ";
  ASSERT_TRUE(PgAdmin(
      in +
      "INSERT INTO repositories(name, created_at) SELECT 'r' || g, 0 FROM generate_series(1, 2000) g;"
      "INSERT INTO blobs(digest, size, created_at) SELECT 'sha256:' || md5(g::text) || "
      "  md5(g::text), 1, 0 FROM generate_series(1, 50000) g;"
      "INSERT INTO repository_blobs SELECT (g % 2000) + 1, 'sha256:' || md5(g::text) || "
      "  md5(g::text), 0 FROM generate_series(1, 50000) g;"
      "INSERT INTO manifests(repository_id, digest, media_type, artifact_type, "
      "  config_media_type, subject_digest, annotations, size, content, pushed_at, type) "
      "  SELECT (g % 2000) + 1, 'sha256:' || md5('m' || g) || md5('m' || g), 'x', '', 'c', "
      "  CASE WHEN g % 10 = 0 THEN 'sha256:' || md5('m' || (g - 1)) || md5('m' || (g - 1)) END, "
      "  '', 1, '\\x00'::bytea, 0, 'c' FROM generate_series(1, 50000) g;"
      "INSERT INTO tags SELECT repository_id, 't' || id, id, 0 FROM manifests;"
      "INSERT INTO manifest_references SELECT id, 0, 1, 'sha256:' || md5(id::text) || "
      "  md5(id::text), 'x', 1, 0, repository_id FROM manifests;"
      "INSERT INTO gc_queue(due_at, kind, repository_id, digest) SELECT 4000000000, 1, 1, 'x' "
      "  FROM generate_series(1, 50000);"
      "INSERT INTO events(time, kind, repository, digest, message) SELECT 0, 'k', 'r', 'd', '' "
      "  FROM generate_series(1, 50000);"
      "ANALYZE"));
  // seq_scan per table, and the idx_scan of tags under "idx:tags".
  auto stats = [&](std::map<std::string, long>* seq) {
    PGconn* c = PQconnectdb(testing::PgUrl().c_str());
    PGresult* r = PQexec(c, ("SELECT pg_stat_clear_snapshot(); SELECT relname, seq_scan FROM "
                             "pg_stat_user_tables WHERE schemaname = '" + schema + "' UNION ALL SELECT 'idx:' || "
                             "relname, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE "
                             "schemaname = '" + schema + "'")
                                .c_str());
    for (int i = 0; i < PQntuples(r); ++i) (*seq)[PQgetvalue(r, i, 0)] = std::atol(PQgetvalue(r, i, 1));
    PQclear(r);
    PQfinish(c);
  };
  std::map<std::string, long> before, after;
  stats(&before);
  {
    auto s = OpenStore(url);
    ASSERT_TRUE(s);
    std::string blob = "sha256:" + std::string(64, 'a');
    ASSERT_TRUE(s->LinkBlob("r7", blob, 1).ok());
    EXPECT_TRUE(s->BlobInRepository("r7", blob)->has_value());
    EXPECT_TRUE(s->FindBlobLink("r7", blob)->has_value());
    EXPECT_TRUE(s->MountBlob("r8", blob, "r7")->has_value());
    NewManifest m = Manifest(D('n'), {ManifestRef{RefKind::kLayer, Desc(blob, 1), false}}, {"new"});
    ASSERT_TRUE(s->PutManifest("r7", m).ok());
    EXPECT_TRUE(s->GetTaggedManifest("r7", "new")->has_value());
    EXPECT_TRUE(s->GetManifest("r7", D('n'))->has_value());
    EXPECT_TRUE(s->ListTags("r7", "", 50).ok());
    EXPECT_TRUE(s->ListTags("r7", "t100", 50).ok());
    EXPECT_TRUE(s->ListRepositories("r5", 50).ok());
    EXPECT_TRUE(s->ListReferrers("r9", "sha256:x", "", "", 50).ok());
    EXPECT_TRUE(s->ListArtifacts("r7", "", "", 20).ok());
    EXPECT_TRUE(s->TagsGeneration("r7").ok());
    EXPECT_TRUE(s->ListEvents(49000, 50).ok());
    EXPECT_TRUE(s->ListBlobHolders(blob, "", 50).ok());
    EXPECT_TRUE(*s->DeleteTag("r7", "new", 86400));
    GcOptions o;
    o.now = static_cast<int64_t>(std::time(nullptr));
    EXPECT_TRUE(s->CollectStep(o).ok());
    EXPECT_TRUE(s->PendingBlobDeletions(50).ok());
  }  // the store's connections close, which flushes their statistics
  // Statistics arrive from the closing backends asynchronously: wait for the writes to show.
  for (int i = 0; i < 50; ++i) {
    after.clear();
    stats(&after);
    if (after["idx:tags"] != before["idx:tags"]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(after["idx:tags"], before["idx:tags"]) << "the statistics never arrived";
  for (const char* table : {"repositories", "blobs", "repository_blobs", "manifests", "tags",
                            "manifest_references", "gc_queue", "events"}) {
    EXPECT_EQ(after[table], before[table]) << table << " was read sequentially";
  }
}

}  // namespace
}  // namespace arca
