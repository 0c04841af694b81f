#include "meta/postgres/pg_meta_store.h"

#include "metrics/metrics.h"

#include <algorithm>
#include <optional>
#include <cstdio>
#include <random>
#include <thread>

#include "meta/postgres/pg_conn.h"
#include "types/digest.h"

namespace arca {
namespace {

Status BadUrl(const std::string& why) {
  return Status(ErrorCode::kInternal, "invalid metadata setting", why);
}

Result<int64_t> Number(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
  if (value.empty() || value.size() > 9 ||
      !std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return BadUrl(name + " must be a whole number, not '" + value + "'");
  }
  int64_t n = std::stoll(value);
  if (n < lo || n > hi) {
    return BadUrl(name + " must be from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return n;
}

// How long transactions are retried after conflicts or a lost database before giving up.
constexpr auto kRetryBudget = std::chrono::seconds(10);
// How long a call waits for a database that refuses connections (restarting) before 503.
constexpr auto kConnectPatience = std::chrono::seconds(5);

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The 64-bit advisory lock key of a text key: the first 8 bytes of its SHA-256.
int64_t LockKey(const std::string& key) {
  std::string hex = Digest::Of(DigestAlgorithm::kSha256, "arca-lock:" + key).hex();
  return static_cast<int64_t>(std::stoull(hex.substr(0, 16), nullptr, 16));
}

}  // namespace

Result<PgMetaStore::Settings> PgMetaStore::ParseUrl(const std::string& url) {
  if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
    return BadUrl("expected postgres://user:password@host:port/database?...");
  }
  Settings out;
  size_t q = url.find('?');
  out.conninfo = url.substr(0, q);
  if (q == std::string::npos) return out;
  std::string kept;
  size_t start = q + 1;
  while (start <= url.size()) {
    size_t amp = url.find('&', start);
    std::string param = url.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? url.size() + 1 : amp + 1;
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string key = param.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : param.substr(eq + 1);
    if (key == "pool") {
      auto n = Number("pool", value, 1, 1000);
      if (!n.ok()) return n.status();
      out.pool = static_cast<size_t>(*n);
    } else if (key == "pool_wait") {
      auto n = Number("pool_wait", value, 1, 600000);
      if (!n.ok()) return n.status();
      out.pool_wait_ms = static_cast<int>(*n);
    } else {
      kept += (kept.empty() ? "?" : "&") + param;
    }
  }
  out.conninfo += kept;
  return out;
}

std::string PgMetaStore::Redacted(const std::string& url) {
  std::string out = url;
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);  // a password may hold '@' (percent-encoded or not)
    size_t colon = at == std::string::npos || at < start ? std::string::npos : out.find(':', start);
    if (colon != std::string::npos && colon < at) out = out.substr(0, colon + 1) + "***" + out.substr(at);
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    size_t v = p + 9, e = out.find('&', v);
    out = out.substr(0, v) + "***" + (e == std::string::npos ? "" : out.substr(e));
  }
  return out;
}

PgMetaStore::PgMetaStore(Settings settings, std::function<int64_t()> local_clock_ms)
    : SqlMetaStore(Dialect::kPostgres),
      settings_(std::move(settings)),
      local_clock_ms_(local_clock_ms ? std::move(local_clock_ms) : WallMs) {}
PgMetaStore::~PgMetaStore() = default;

Result<std::unique_ptr<PgMetaStore>> PgMetaStore::Open(const Options& options) {
  auto settings = ParseUrl(options.url);
  if (!settings.ok()) return settings.status();
  std::unique_ptr<PgMetaStore> store(new PgMetaStore(std::move(*settings), options.local_clock_ms));
  auto c = store->Take();
  if (!c.ok()) return c.status();
  Status s = CheckSchema(**c, options.migrate);
  store->Give(std::move(*c));
  if (!s.ok()) return s;
  return store;
}

uint64_t PgMetaStore::retries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return retries_;
}

Result<std::unique_ptr<pg::Connection>> PgMetaStore::Take() {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.pool_wait_ms);
  std::optional<std::chrono::steady_clock::time_point> connect_deadline;
  for (int attempt = 0;; ++attempt) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (c->StillOpen()) return c;
        --open_;  // closed by the server while idle (a restart): drop it, take or open another
      }
      if (open_ < settings_.pool) break;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= settings_.pool) {
        return Status(ErrorCode::kUnavailable, "metadata busy",
                      "all " + std::to_string(settings_.pool) +
                          " PostgreSQL connections stayed busy for " +
                          std::to_string(settings_.pool_wait_ms) + " ms");
      }
    }
    ++open_;
    lock.unlock();
    auto c = pg::Connection::Open(settings_.conninfo);
    if (c.ok()) {
      MeasureClock(**c);
      return std::move(*c);
    }
    lock.lock();
    --open_;
    cv_.notify_one();
    lock.unlock();
    // The database may be restarting: try again for a few seconds before answering 503.
    auto now = std::chrono::steady_clock::now();
    if (!connect_deadline) connect_deadline = now + kConnectPatience;
    if (now >= *connect_deadline || now >= deadline) return c.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(500, 50 << std::min(attempt, 4))));
  }
}

void PgMetaStore::MeasureClock(pg::Connection& c) {
  int64_t before = local_clock_ms_();
  auto q = c.Prepare("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint");
  if (!q.ok() || !(*q)->Step()) return;  // the next measurement will do
  int64_t db = (*q)->Int(0);
  (void)(*q)->Exec();
  int64_t after = local_clock_ms_();
  clock_offset_ms_ = db - (before + after) / 2;
  clock_measured_ms_ = SteadyMs();
}

int64_t PgMetaStore::Now() const {
  return (local_clock_ms_() + clock_offset_ms_.load()) / 1000;
}

class PgMetaStore::KeyHold : public MetaStore::Hold {
 public:
  KeyHold(PgMetaStore* store, int64_t key, uint64_t generation)
      : store_(store), key_(key), generation_(generation) {}
  ~KeyHold() override { (void)store_->Unlock(key_, generation_); }
  bool Valid() override { return store_->LockSessionAlive(generation_); }

 private:
  PgMetaStore* store_;
  int64_t key_;
  uint64_t generation_;
};

Result<std::unique_ptr<MetaStore::Hold>> PgMetaStore::HoldKey(const std::string& key) {
  // The database's connection string is part of the key: two registries sharing a database
  // (a schema each) do not contend for each other's locks.
  int64_t k = LockKey(settings_.conninfo + "\n" + key);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.pool_wait_ms);
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(lock_mu_);
      if (lock_conn_ && !lock_conn_->StillOpen()) {
        std::fprintf(stderr, "arca: the PostgreSQL connection that held this replica's advisory "
                             "locks was lost; the locks it held are void, opening another\n");
        lock_conn_.reset();
      }
      if (!lock_conn_) {
        auto c = pg::Connection::Open(settings_.conninfo);
        if (c.ok()) {
          lock_conn_ = std::move(*c);
          ++lock_generation_;
        } else {
          last = c.status();
        }
      }
      if (lock_conn_) {
        auto q = lock_conn_->Prepare("SELECT pg_try_advisory_lock(?)");
        if (!q.ok()) return q.status();
        bool got = (*q)->Bind(1, k).Step() && (*q)->Int(0) != 0;
        last = (*q)->status();
        (void)(*q)->Exec();
        if (got) return std::unique_ptr<MetaStore::Hold>(new KeyHold(this, k, lock_generation_));
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!last.ok()) return last;
      return Status(ErrorCode::kUnavailable, "metadata busy",
                    "another replica held the lock on " + key + " for " +
                        std::to_string(settings_.pool_wait_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50, 2 << std::min(attempt, 5))));
  }
}

bool PgMetaStore::LockSessionAlive(uint64_t generation) {
  std::lock_guard<std::mutex> lock(lock_mu_);
  if (!lock_conn_ || generation != lock_generation_) return false;
  // A round trip: a session the server ended shows here, not in an idle check.
  auto q = lock_conn_->Prepare("SELECT 1");
  if (!q.ok()) return false;
  bool alive = (*q)->Step();
  (void)(*q)->Exec();
  return alive && lock_conn_->Healthy();
}

Status PgMetaStore::Unlock(int64_t key, uint64_t generation) {
  std::lock_guard<std::mutex> lock(lock_mu_);
  // A lock of a lost session went with it; a new session never took this one for us.
  if (!lock_conn_ || generation != lock_generation_ || !lock_conn_->Healthy()) return Status::Ok();
  auto q = lock_conn_->Prepare("SELECT pg_advisory_unlock(?)");
  if (!q.ok()) return q.status();
  return (*q)->Bind(1, key).Exec();
}

void PgMetaStore::Give(std::unique_ptr<pg::Connection> c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (c && c->Healthy()) {
      idle_.push_back(std::move(c));
    } else {
      --open_;  // a broken connection is dropped; the next Take opens a new one
    }
  }
  cv_.notify_one();
}

Result<sql::Lease> PgMetaStore::AcquireReader() {
  auto c = Take();
  if (!c.ok()) return c.status();
  return sql::Lease(std::move(*c), [this](std::unique_ptr<sql::Connection> done) {
    Give(std::unique_ptr<pg::Connection>(static_cast<pg::Connection*>(done.release())));
  });
}

Status PgMetaStore::Read(const std::function<Status(sql::Connection&)>& fn) {
  auto deadline = std::chrono::steady_clock::now() + kRetryBudget;
  for (int attempt = 0;; ++attempt) {
    auto taken = Take();  // waits for a restarting database itself
    if (!taken.ok()) return taken.status();
    std::unique_ptr<pg::Connection> c = std::move(*taken);
    c->ClearFirstFailure();
    Status s = fn(*c);
    std::string state = c->first_sqlstate().empty() ? c->last_sqlstate() : c->first_sqlstate();
    bool lost = !s.ok() && (!c->Healthy() || pg::IsConnectionLost(state));
    Give(std::move(c));  // dropped when broken
    if (!lost || std::chrono::steady_clock::now() >= deadline) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++retries_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(500, 20 << std::min(attempt, 5))));
  }
}

Status PgMetaStore::WriteTransaction(const std::function<Status(sql::Connection&)>& fn) {
  return RunTransaction("BEGIN ISOLATION LEVEL SERIALIZABLE", fn, /*write=*/true);
}

Status PgMetaStore::ReadSnapshot(const std::function<Status(sql::Connection&)>& fn) {
  return RunTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn, /*write=*/false);
}

Status PgMetaStore::RunTransaction(const char* begin,
                                   const std::function<Status(sql::Connection&)>& fn,
                                   bool write) {
  auto deadline = std::chrono::steady_clock::now() + kRetryBudget;
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    auto taken = Take();
    bool retry = false;
    Status s;
    if (!taken.ok()) {
      s = taken.status();
      // No connection could be opened: the database may be restarting.
      retry = s.message() == "metadata database unavailable";
    } else {
      std::unique_ptr<pg::Connection> c = std::move(*taken);
      if (SteadyMs() - clock_measured_ms_.load() > 60000) MeasureClock(*c);
      bool committing = false;
      c->ClearFirstFailure();
      s = c->Exec(begin);
      if (s.ok()) {
        s = fn(*c);
        if (s.ok() && !c->first_sqlstate().empty()) {
          // A statement failed and fn went on: PostgreSQL has aborted the transaction, and
          // its COMMIT would answer ROLLBACK as if it were a success.
          s = Status(ErrorCode::kInternal, "metadata error",
                     "a statement of the transaction failed (" + c->first_sqlstate() + ")");
        }
        if (s.ok()) {
          committing = true;
          auto t0 = std::chrono::steady_clock::now();
          s = c->Exec("COMMIT");
          // One write per COMMIT here (no group commit): the batch size is 1.
          static auto& batches = metrics::Default().HistogramFamily(
              "arca_metadata_commit_batch_size",
              "Writes committed together by one metadata COMMIT.", {},
              {1, 2, 4, 8, 16, 32, 64, 128, 256});
          static auto& commits = metrics::Default().HistogramFamily(
              "arca_metadata_commit_seconds", "How long a metadata COMMIT took.", {},
              metrics::LatencyBuckets());
          if (write) {  // the commits of writes, as on SQLite
            batches.Get().Observe(1);
            commits.Get().Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          }
        }
      }
      if (!s.ok()) {
        // What aborted the transaction: its first failure (fn may have gone on after it).
        std::string state = c->first_sqlstate().empty() ? c->last_sqlstate() : c->first_sqlstate();
        bool lost = !c->Healthy() || pg::IsConnectionLost(state);
        if (c->Healthy()) (void)c->Exec("ROLLBACK");
        // A conflict rolled everything back; a connection lost before COMMIT was sent did
        // too. One lost during COMMIT may have committed: not ours to run again.
        retry = pg::IsRetryable(state) || (lost && !committing);
      }
      Give(std::move(c));
    }
    if (s.ok() || !retry || std::chrono::steady_clock::now() >= deadline) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++retries_;
    }
    int cap = std::min(500, 5 << std::min(attempt, 7));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(cap / 2 + static_cast<int>(jitter() % (cap / 2 + 1))));
  }
}

}  // namespace arca
