// KeyRing: the files under the key directory, and the keys a server signs and verifies with.
//
// Every change to the directory (Open, Rotate, and a Refresh that reloads) happens under an
// exclusive flock of the directory, so one process never reads another's change half done;
// a file that is no part of a finished change (a temporary, a key that was never current and
// was never retired) can then only be left by a crash, and is cleaned up or retired.
#include "auth/jwt.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "util/file_util.h"

namespace arca::auth {
namespace {

constexpr std::string_view kCurrent = "current";
constexpr std::string_view kPem = ".pem";
constexpr std::string_view kRetired = ".retired";
constexpr std::string_view kTmpPrefix = ".tmp-";
constexpr size_t kKidSize = 43;  // base64url of a SHA-256 thumbprint
constexpr size_t kMaxFileSize = 64 * 1024;

Status RingError(std::string detail) {
  return Status(ErrorCode::kInternal, "key ring error", std::move(detail));
}

bool IsKid(std::string_view s) {
  if (s.size() != kKidSize) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string_view TrimNewline(std::string_view s) {
  if (s.ends_with('\n')) s.remove_suffix(1);
  return s;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return ErrnoStatus("open " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileSize) return RingError(path + " is larger than 64 KiB");
  }
  OPENSSL_cleanse(buf, sizeof buf);  // it held a private key
  return out;
}

// Written to a temporary name, fsynced and renamed over name; the caller syncs the directory.
Status WriteFileDurably(const std::string& dir, std::string_view name, std::string_view data) {
  std::string tmp = dir + "/" + std::string(kTmpPrefix) + std::string(name);
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink " + tmp);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus("create " + tmp);
  ARCA_RETURN_IF_ERROR(WriteAll(fd.get(), data.data(), data.size()));
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + tmp);
  std::string path = dir + "/" + std::string(name);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp);
  return Status::Ok();
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink " + path);
  return Status::Ok();
}

// The directory holds private keys: only its owner may list it, whatever made it before.
Status MakeKeyDir(const std::string& dir) {
  ARCA_RETURN_IF_ERROR(MakeDirs(std::filesystem::path(dir).parent_path().string()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat " + dir);
  if (!S_ISDIR(st.st_mode)) return RingError(dir + " is not a directory");
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return ErrnoStatus("chmod " + dir);
  }
  return Status::Ok();
}

Result<UniqueFd> LockDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open " + dir);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus("flock " + dir);
  }
  return Result<UniqueFd>(std::move(fd));
}

int64_t WallClock() { return static_cast<int64_t>(std::time(nullptr)); }

// What Refresh compares to notice a change: the directory's mtime moves with every create,
// rename and unlink in it, and "current" is replaced (a new inode) by every rotation.
struct Stamp {
  bool valid = false;
  timespec dir_mtime{};
  ino_t current_ino = 0;
  timespec current_mtime{};

  bool operator==(const Stamp& o) const {
    auto same = [](const timespec& a, const timespec& b) {
      return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
    };
    return valid && o.valid && same(dir_mtime, o.dir_mtime) && current_ino == o.current_ino &&
           same(current_mtime, o.current_mtime);
  }
};

// A change within the clock tick of the stamp could leave the mtimes as they were, so a stamp
// that recent is not trusted: the next Refresh reloads (git's "racy" index entries, the same).
Stamp TakeStamp(const std::string& dir, bool for_comparison) {
  struct stat d, c;
  Stamp s;
  std::string current = dir + "/" + std::string(kCurrent);
  if (::stat(dir.c_str(), &d) != 0 || ::stat(current.c_str(), &c) != 0) return s;
  s.dir_mtime = d.st_mtim;
  s.current_ino = c.st_ino;
  s.current_mtime = c.st_mtim;
  int64_t recent = WallClock() - 2;
  s.valid = for_comparison || (d.st_mtim.tv_sec < recent && c.st_mtim.tv_sec < recent);
  return s;
}

struct Entry {
  std::shared_ptr<const SigningKey> key;
  std::optional<int64_t> retired;  // none for the current key
};

struct Ring {
  std::string current;               // "" when the directory has no key yet
  std::map<std::string, Entry> keys;  // by kid
};

struct Listing {
  std::set<std::string> pems;      // kids
  std::set<std::string> retireds;  // kids
  std::vector<std::string> temporaries;
};

Result<Listing> ListDir(const std::string& dir) {
  Listing listing;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    std::string_view n = name;
    if (n.starts_with(kTmpPrefix)) {
      listing.temporaries.push_back(name);
    } else if (n.ends_with(kPem) && IsKid(n.substr(0, n.size() - kPem.size()))) {
      listing.pems.insert(name.substr(0, n.size() - kPem.size()));
    } else if (n.ends_with(kRetired) && IsKid(n.substr(0, n.size() - kRetired.size()))) {
      listing.retireds.insert(name.substr(0, n.size() - kRetired.size()));
    }
  }
  if (ec) return RingError("cannot list " + dir + ": " + ec.message());
  return listing;
}

Result<std::string> ReadCurrent(const std::string& dir, const Listing& listing) {
  std::string path = dir + "/" + std::string(kCurrent);
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::string();
  auto text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  std::string kid(TrimNewline(*text));
  if (!IsKid(kid)) return RingError(path + " does not hold a kid");
  if (!listing.pems.count(kid)) return RingError(path + " names a key that has no .pem file");
  return kid;
}

Result<int64_t> ReadRetired(const std::string& dir, const std::string& kid) {
  std::string path = dir + "/" + kid + std::string(kRetired);
  auto text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  std::string_view t = TrimNewline(*text);
  int64_t when = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), when);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) {
    return RingError(path + " does not hold a Unix time");
  }
  return when;
}

Result<std::shared_ptr<const SigningKey>> LoadKey(const std::string& dir, const std::string& kid,
                                                  const Ring* cache) {
  if (cache != nullptr) {
    auto it = cache->keys.find(kid);
    if (it != cache->keys.end()) return it->second.key;
  }
  std::string path = dir + "/" + kid + std::string(kPem);
  auto pem = ReadSmallFile(path);
  if (!pem.ok()) return pem.status();
  auto key = SigningKey::FromPem(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key.ok()) return RingError(path + ": " + key.status().detail());
  // The name is what tokens refer to; a key under another key's name would verify for it.
  if ((*key)->kid() != kid) return RingError(path + " is not named after its key's thumbprint");
  return std::shared_ptr<const SigningKey>(std::move(*key));
}

// When kid stopped signing. A key that was never retired and is not current was left by a
// crash during a rotation: it is retired now, so that it expires like any other.
Result<std::optional<int64_t>> RetiredAt(const std::string& dir, const std::string& kid,
                                         const Listing& listing, int64_t now, bool* wrote) {
  if (listing.retireds.count(kid)) {
    auto when = ReadRetired(dir, kid);
    if (!when.ok()) return when.status();
    return std::optional<int64_t>(*when);
  }
  ARCA_RETURN_IF_ERROR(WriteFileDurably(dir, kid + std::string(kRetired), std::to_string(now)));
  *wrote = true;
  return std::optional<int64_t>(now);
}

Status RemoveKeyFiles(const std::string& dir, const std::string& kid) {
  ARCA_RETURN_IF_ERROR(RemoveFile(dir + "/" + kid + std::string(kPem)));
  return RemoveFile(dir + "/" + kid + std::string(kRetired));
}

// Reads the ring, under the directory lock: removes what crashes left and the keys expired
// at now, retires the keys a crash left unretired. cache supplies keys already parsed.
Result<Ring> LoadLocked(const std::string& dir, int64_t now, int64_t keep_s, const Ring* cache) {
  auto listing = ListDir(dir);
  if (!listing.ok()) return listing.status();
  bool changed = false;
  for (const auto& tmp : listing->temporaries) {
    ARCA_RETURN_IF_ERROR(RemoveFile(dir + "/" + tmp));
    changed = true;
  }
  Ring ring;
  auto current = ReadCurrent(dir, *listing);
  if (!current.ok()) return current.status();
  ring.current = *current;
  for (const auto& kid : listing->pems) {
    std::optional<int64_t> retired;
    if (kid != ring.current) {
      auto when = RetiredAt(dir, kid, *listing, now, &changed);
      if (!when.ok()) return when.status();
      retired = *when;
      if (now >= *retired + keep_s) {
        ARCA_RETURN_IF_ERROR(RemoveKeyFiles(dir, kid));
        changed = true;
        continue;
      }
    }
    auto key = LoadKey(dir, kid, cache);
    if (!key.ok()) return key.status();
    ring.keys[kid] = Entry{std::move(*key), retired};
  }
  for (const auto& kid : listing->retireds) {
    if (listing->pems.count(kid)) continue;
    ARCA_RETURN_IF_ERROR(RemoveFile(dir + "/" + kid + std::string(kRetired)));
    changed = true;
  }
  if (changed) ARCA_RETURN_IF_ERROR(SyncDir(dir));
  return ring;
}

// A new key, made current; the previous current key, if any, retired at now.
Result<std::string> AddCurrentKey(const std::string& dir, Ring& ring, int64_t now) {
  auto key = SigningKey::Generate();
  if (!key.ok()) return key.status();
  std::string kid = (*key)->kid();
  std::string pem = (*key)->ToPem();
  if (pem.empty()) return RingError("cannot encode the new key as PEM");
  Status written = WriteFileDurably(dir, kid + std::string(kPem), pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  ARCA_RETURN_IF_ERROR(written);
  // Before "current" moves: a crash in between leaves the old key current (its .retired is
  // then ignored) and the new one unretired, which the next load retires.
  if (!ring.current.empty()) {
    ARCA_RETURN_IF_ERROR(
        WriteFileDurably(dir, ring.current + std::string(kRetired), std::to_string(now)));
    ring.keys[ring.current].retired = now;
  }
  ARCA_RETURN_IF_ERROR(WriteFileDurably(dir, kCurrent, kid + "\n"));
  ARCA_RETURN_IF_ERROR(SyncDir(dir));
  ring.keys[kid] = Entry{std::shared_ptr<const SigningKey>(std::move(*key)), std::nullopt};
  ring.current = kid;
  return kid;
}

bool AnyExpired(const Ring& ring, int64_t now, int64_t keep_s) {
  for (const auto& [kid, entry] : ring.keys) {
    if (entry.retired && now >= *entry.retired + keep_s) return true;
  }
  return false;
}

}  // namespace

struct KeyRing::State {
  std::string dir;
  int64_t keep_s = 0;

  std::mutex refresh_mu;  // one Refresh at a time; guards ring and stamp
  Ring ring;
  Stamp stamp;

  std::mutex mu;  // guards what Signer and Verifiers hand out
  std::shared_ptr<const SigningKey> signer;
  std::vector<std::shared_ptr<const PublicKey>> verifiers;

  void Publish() {
    std::vector<std::shared_ptr<const PublicKey>> keys;
    for (const auto& [kid, entry] : ring.keys) keys.push_back(entry.key->Public());
    std::lock_guard<std::mutex> lock(mu);
    signer = ring.keys.at(ring.current).key;
    verifiers = std::move(keys);
  }
};

KeyRing::~KeyRing() = default;

Result<std::unique_ptr<KeyRing>> KeyRing::Open(const std::string& dir, int64_t keep_s) {
  ARCA_RETURN_IF_ERROR(MakeKeyDir(dir));
  auto lock = LockDir(dir);
  if (!lock.ok()) return lock.status();
  int64_t now = WallClock();
  auto ring = LoadLocked(dir, now, keep_s, nullptr);
  if (!ring.ok()) return ring.status();
  if (ring->current.empty()) {
    auto kid = AddCurrentKey(dir, *ring, now);
    if (!kid.ok()) return kid.status();
  }
  std::unique_ptr<KeyRing> key_ring(new KeyRing());
  key_ring->state_ = std::make_unique<State>();
  State& s = *key_ring->state_;
  s.dir = dir;
  s.keep_s = keep_s;
  s.ring = std::move(*ring);
  s.stamp = TakeStamp(dir, false);
  s.Publish();
  return key_ring;
}

Result<std::string> KeyRing::Rotate(const std::string& dir, int64_t now, int64_t keep_s) {
  ARCA_RETURN_IF_ERROR(MakeKeyDir(dir));
  auto lock = LockDir(dir);
  if (!lock.ok()) return lock.status();
  auto ring = LoadLocked(dir, now, keep_s, nullptr);
  if (!ring.ok()) return ring.status();
  return AddCurrentKey(dir, *ring, now);
}

Status KeyRing::Refresh(int64_t now) {
  State& s = *state_;
  std::lock_guard<std::mutex> refresh_lock(s.refresh_mu);
  if (TakeStamp(s.dir, true) == s.stamp && !AnyExpired(s.ring, now, s.keep_s)) {
    return Status::Ok();
  }
  auto lock = LockDir(s.dir);
  if (!lock.ok()) return lock.status();
  auto ring = LoadLocked(s.dir, now, s.keep_s, &s.ring);
  if (!ring.ok()) return ring.status();
  if (ring->current.empty()) return RingError(s.dir + " has no current key");
  s.ring = std::move(*ring);
  s.stamp = TakeStamp(s.dir, false);
  s.Publish();
  return Status::Ok();
}

std::shared_ptr<const SigningKey> KeyRing::Signer() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->signer;
}

std::vector<std::shared_ptr<const PublicKey>> KeyRing::Verifiers() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->verifiers;
}

}  // namespace arca::auth
