// A database as the stores written in shared SQL see it (meta/sql): connections lent for
// reads, and transactions. The metadata store on PostgreSQL is one (accounts and the audit
// stream live in its tables too); on SQLite, auth.db and audit.db are each one
// (meta/sqlite/sqlite_file_db.h).
#pragma once

#include <functional>

#include "meta/sql/sql_conn.h"
#include "util/status.h"

namespace arca::sql {

class Database {
 public:
  virtual ~Database() = default;
  // A connection for reads outside a transaction. Hold one lease at a time.
  virtual Result<Lease> AcquireReader() = 0;
  // fn in one write transaction, durable when this returns; fn's error rolls back. fn may run
  // more than once (a retried conflict), so it sets its outputs afresh on each run.
  virtual Status WriteTransaction(const std::function<Status(Connection&)>& fn) = 0;
  // fn in one read-only transaction that sees a single consistent state; it may run more
  // than once, as WriteTransaction's.
  virtual Status ReadSnapshot(const std::function<Status(Connection&)>& fn) = 0;
};

}  // namespace arca::sql
