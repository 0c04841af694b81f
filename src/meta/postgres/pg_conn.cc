#include "meta/postgres/pg_conn.h"

#include <algorithm>

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "util/log_limiter.h"

namespace arca::pg {
namespace {

// A database that is down fails every request at once: one line per kind of trouble and 10 s
// (with the count held back) tells the operator as much as a thousand would.
void LogTrouble(const std::string& kind, const std::string& text) {
  static LogLimiter lines(20, 10);
  uint64_t held_back = 0;
  if (!lines.Allow(kind, static_cast<int64_t>(std::time(nullptr)), &held_back)) return;
  std::fprintf(stderr, "arca: %s: %s%s\n", kind.c_str(), text.c_str(),
               held_back ? (" (" + std::to_string(held_back) + " like lines held back)").c_str() : "");
}

// Type OIDs of pg_type (fixed since PostgreSQL 7).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;

}  // namespace

// PostgreSQL's text holds neither NUL (libpq would cut the value there, and a filter could
// silently become a shorter one) nor bytes that are not UTF-8 (the server refuses them).
bool StorableText(std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > v.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(v[i + k]) & 0xC0) != 0x80) return false;
    }
    unsigned char c1 = static_cast<unsigned char>(v[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 > 0x8F)) {
      return false;  // overlong, a surrogate, or past U+10FFFF
    }
    i += n;
  }
  return true;
}

bool IsConnectionLost(const std::string& s) {
  return s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03";
}

bool IsRetryable(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

std::string ToDollarParams(std::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 16);
  int highest = 0;
  char quote = 0;  // ' or " while inside a quoted string or identifier
  for (size_t i = 0; i < sql.size(); ++i) {
    char ch = sql[i];
    if (quote) {
      out += ch;
      if (ch == quote) quote = 0;  // a doubled quote closes and reopens: same result
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
      continue;
    }
    if (ch != '?') {
      out += ch;
      continue;
    }
    size_t j = i + 1;
    int n = 0;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
    if (j == i + 1) n = highest + 1;
    highest = std::max(highest, n);
    out += '$';
    out += std::to_string(n);
    i = j - 1;
  }
  if (params) *params = highest;
  return out;
}

class Stmt final : public sql::Stmt {
 public:
  Stmt(Connection* c, Connection::Prepared* p) : c_(c), p_(p) {
    values_.resize(static_cast<size_t>(p->params));
    null_.assign(static_cast<size_t>(p->params), true);
    types_.assign(static_cast<size_t>(p->params), 0);
    formats_.assign(static_cast<size_t>(p->params), 0);
    unstorable_.assign(static_cast<size_t>(p->params), false);
  }
  ~Stmt() override { Clear(); }

  Stmt& Bind(int i, std::string_view v) override {
    bool storable = StorableText(v);
    Set(i, std::string(v), 0, 0);
    if (Valid(i)) unstorable_[static_cast<size_t>(i - 1)] = !storable;
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) override {
    return Set(i, std::string(v), kByteaOid, 1);
  }
  Stmt& Bind(int i, int64_t v) override { return Set(i, std::to_string(v), kInt8Oid, 0); }
  Stmt& BindNull(int i) override {
    if (Valid(i)) {
      null_[static_cast<size_t>(i - 1)] = true;
      unstorable_[static_cast<size_t>(i - 1)] = false;
    }
    return *this;
  }

  bool Step() override {
    if (!ran_) Run();
    if (!status_.ok() || !res_) return false;
    ++row_;
    return row_ < PQntuples(res_);
  }
  Status status() const override { return status_; }
  int64_t Int(int col) const override {
    const char* v = PQgetvalue(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    return std::strtoll(v, nullptr, 10);
  }
  std::string Text(int col) const override {
    const char* v = PQgetvalue(res_, row_, col);
    if (PQftype(res_, col) != kByteaOid) {
      return std::string(v, static_cast<size_t>(PQgetlength(res_, row_, col)));
    }
    size_t n = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
    std::string out(reinterpret_cast<const char*>(raw), raw ? n : 0);
    PQfreemem(raw);
    return out;
  }
  bool IsNull(int col) const override { return PQgetisnull(res_, row_, col) != 0; }
  Status Exec() override {
    if (!ran_) Run();
    Status s = status_;
    Clear();
    return s;
  }

 private:
  bool Valid(int i) const { return i >= 1 && i <= p_->params; }
  Stmt& Set(int i, std::string v, Oid type, int format) {
    if (!Valid(i)) return *this;  // as SQLite ignores an index past the statement's
    size_t k = static_cast<size_t>(i - 1);
    values_[k] = std::move(v);
    null_[k] = false;
    types_[k] = type;
    formats_[k] = format;
    unstorable_[k] = false;
    return *this;
  }
  void Clear() {
    if (res_) PQclear(res_);
    res_ = nullptr;
    ran_ = false;
    row_ = -1;
  }

  // Prepares the statement for this parameter typing once per connection, then runs it.
  void Run() {
    ran_ = true;
    status_ = Status::Ok();  // a statement reused after a failure starts afresh
    if (std::find(unstorable_.begin(), unstorable_.end(), true) != unstorable_.end()) {
      status_ = Status(ErrorCode::kQueryInvalid, "invalid text",
                       "a value holds a NUL byte or is not UTF-8, which the metadata "
                       "database cannot compare or store");
      return;
    }
    std::string signature;
    for (size_t k = 0; k < types_.size(); ++k) signature += null_[k] ? "n" : std::to_string(types_[k]) + ",";
    auto it = p_->names.find(signature);
    if (it == p_->names.end()) {
      std::string name = "arca_" + std::to_string(c_->next_name_++);
      std::vector<Oid> types(types_);
      for (size_t k = 0; k < types.size(); ++k) {
        if (null_[k]) types[k] = 0;
      }
      PGresult* r = PQprepare(c_->raw(), name.c_str(), p_->sql.c_str(), p_->params,
                              types.empty() ? nullptr : types.data());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        status_ = c_->Failure("prepare " + p_->sql, r);
        PQclear(r);
        return;
      }
      PQclear(r);
      it = p_->names.emplace(signature, name).first;
    }
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (size_t k = 0; k < values_.size(); ++k) {
      values[k] = null_[k] ? nullptr : values_[k].data();
      lengths[k] = static_cast<int>(values_[k].size());
    }
    res_ = PQexecPrepared(c_->raw(), it->second.c_str(), p_->params,
                          values.empty() ? nullptr : values.data(),
                          lengths.empty() ? nullptr : lengths.data(),
                          formats_.empty() ? nullptr : formats_.data(), 0);
    ExecStatusType st = PQresultStatus(res_);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status_ = c_->Failure(p_->sql, res_);
      PQclear(res_);
      res_ = nullptr;
      return;
    }
    c_->last_sqlstate_.clear();
    // As sqlite3_changes: rows an INSERT, UPDATE or DELETE changed; a SELECT leaves it be.
    if (st == PGRES_COMMAND_OK || std::strncmp(PQcmdStatus(res_), "SELECT", 6) != 0) {
      const char* tuples = PQcmdTuples(res_);
      c_->changes_ = tuples && *tuples ? std::atoi(tuples) : 0;
    }
  }

  Connection* c_;
  Connection::Prepared* p_;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
  PGresult* res_ = nullptr;
  int row_ = -1;
  bool ran_ = false;
  std::vector<bool> unstorable_;  // per parameter, as last bound
  Status status_;
};

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo) {
  PGconn* raw = PQconnectdb(conninfo.c_str());
  std::unique_ptr<Connection> c(new Connection(raw));
  if (!raw || PQstatus(raw) != CONNECTION_OK) {
    // libpq's reason names hosts and users (and echoes a malformed URL, password and all):
    // it goes to the operator's log, with any password taken out, and never to a client.
    std::string why = raw ? PQerrorMessage(raw) : "out of memory";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    if (const char* pw = raw ? PQpass(raw) : nullptr; pw && *pw) {
      for (size_t p = why.find(pw); p != std::string::npos; p = why.find(pw, p)) {
        why.replace(p, std::strlen(pw), "***");
      }
    }
    LogTrouble("cannot connect to PostgreSQL", why);
    return Status(ErrorCode::kUnavailable, "metadata database unavailable",
                  "the metadata database cannot be reached (the registry's log says why)");
  }
  // Times and text as the registry expects them, whatever the server's defaults.
  ARCA_RETURN_IF_ERROR(c->Exec("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'"));
  return c;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

bool Connection::Healthy() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::StillOpen() {
  if (!Healthy() || PQconsumeInput(conn_) == 0) return false;
  // A notice or the server's goodbye may have arrived; only a usable session counts.
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

Status Connection::Failure(const std::string& what, const void* result) {
  const PGresult* r = static_cast<const PGresult*>(result);
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  if (first_sqlstate_.empty()) first_sqlstate_ = last_sqlstate_;
  std::string msg = r ? PQresultErrorMessage(r) : "";
  if (msg.empty()) msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (!Healthy() || IsConnectionLost(last_sqlstate_)) {
    if (last_sqlstate_.empty()) last_sqlstate_ = "08006";  // connection failure
    if (first_sqlstate_.empty()) first_sqlstate_ = last_sqlstate_;
    LogTrouble("the connection to PostgreSQL was lost", msg);
    return Status(ErrorCode::kUnavailable, "metadata database unavailable",
                  "the connection to the metadata database was lost; try again");
  }
  if (IsRetryable(last_sqlstate_)) {
    return Status(ErrorCode::kUnavailable, "metadata busy",
                  "a concurrent change conflicted (" + last_sqlstate_ + "): " + msg);
  }
  return Status(ErrorCode::kInternal, "metadata error", what + ": " + msg);
}

Connection::Prepared& Connection::Lookup(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    Prepared p;
    p.sql = ToDollarParams(sql, &p.params);
    it = cache_.emplace(sql, std::move(p)).first;
  }
  return it->second;
}

Result<std::unique_ptr<sql::Stmt>> Connection::Prepare(const char* sql) {
  return std::unique_ptr<sql::Stmt>(new Stmt(this, &Lookup(sql)));
}

Result<bool> Connection::HasRow(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    Status s = Failure(sql, r);
    PQclear(r);
    return s;
  }
  bool any = st == PGRES_TUPLES_OK && PQntuples(r) > 0;
  PQclear(r);
  last_sqlstate_.clear();
  return any;
}

Status Connection::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status s = Failure(sql, r);
    PQclear(r);
    return s;
  }
  PQclear(r);
  last_sqlstate_.clear();
  return Status::Ok();
}

}  // namespace arca::pg
