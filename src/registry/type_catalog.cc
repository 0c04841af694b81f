#include "registry/type_catalog.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstring>

#include "util/file_util.h"

namespace arca {
namespace {

constexpr size_t kMaxDefinitionBytes = 1 << 20;
constexpr const char* kApiPrefix = "api--";

bool EndsWith(const std::string& s, const char* suffix) {
  return s.size() >= std::strlen(suffix) && s.compare(s.size() - std::strlen(suffix), std::string::npos, suffix) == 0;
}


// A file name for a type id: its characters outside [A-Za-z0-9._-] become '_'.
std::string Slug(const std::string& id) {
  std::string out;
  for (char c : id) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_');
  return out;
}

}  // namespace

TypeCatalog::TypeCatalog(std::vector<EmbeddedFile> builtins, std::string dir)
    : builtin_files_(std::move(builtins)), dir_(std::move(dir)) {}

TypeCatalog::~TypeCatalog() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
}

Status TypeCatalog::Load() {
  for (const EmbeddedFile& f : builtin_files_) {
    std::string name = f.name;
    if (!EndsWith(name, ".json")) continue;
    auto t = ParseArtifactType(f.content, "builtin " + name, [&](const std::string& logo) -> Result<std::string> {
      for (const EmbeddedFile& g : builtin_files_) {
        if (logo == g.name) return std::string(g.content);
      }
      return Status(ErrorCode::kNameUnknown, "no such file", logo);
    });
    if (!t.ok()) return t.status();
    t->source = "builtin";
    std::string id = t->media_type;  // the right side of '=' runs first and moves from t
    builtins_[id] = std::make_shared<const ArtifactType>(std::move(*t));
  }
  ARCA_RETURN_IF_ERROR(MakeDirs(dir_));
  std::lock_guard<std::mutex> lock(scan_mu_);
  Rescan();
  if (shared_meta_) return RefreshShared(/*force=*/true);  // publishes
  Publish();
  return Status::Ok();
}

void TypeCatalog::Watch(int interval_ms) {
  watcher_ = std::thread([this, interval_ms] {
    // The shared definitions are looked at every quarter second (one cheap query), the
    // folder every interval.
    constexpr int kSharedMs = 250;
    int since_folder = 0;
    while (!stop_) {
      for (int waited = 0; waited < kSharedMs && !stop_; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      since_folder += kSharedMs;
      std::lock_guard<std::mutex> lock(scan_mu_);
      if (stop_) break;
      if (shared_meta_) (void)RefreshShared(false);  // logs its own trouble
      if (since_folder >= interval_ms) {
        since_folder = 0;
        if (Signature() != last_signature_) {
          Rescan();
          Publish();
        }
      }
    }
  });
}

Status TypeCatalog::RefreshShared(bool force) {
  auto version = shared_meta_->SettingsVersion();
  std::vector<MetaStore::TypeDefinitionRecord> records;
  Status s = version.status();
  if (s.ok() && !force && *version == shared_version_) return Status::Ok();
  if (s.ok()) {
    auto listed = shared_meta_->ListTypeDefinitions();
    if (listed.ok()) records = std::move(*listed);
    s = listed.status();
  }
  if (!s.ok()) {
    // The definitions read last stay in force; said at most once a minute.
    uint64_t held_back = 0;
    if (refresh_errors_.Allow("types", std::time(nullptr), &held_back)) {
      std::fprintf(stderr, "arca: shared artifact types not read, those read before stay: %s\n",
                   s.message().c_str());
    }
    return s;
  }
  std::map<std::string, TypePtr> next;
  std::vector<std::string> problems;
  for (const MetaStore::TypeDefinitionRecord& r : records) {
    auto t = ParseArtifactType(r.definition, "stored " + r.id,
                               [&](const std::string&) -> Result<std::string> { return r.logo; });
    if (!t.ok()) {
      // Written after the same checks; only a newer build's definition could fail here.
      problems.push_back(t.status().detail());
      auto old = shared_.find(r.id);
      if (old != shared_.end()) next.emplace(r.id, old->second);
      continue;
    }
    t->source = "api";
    next.emplace(r.id, std::make_shared<const ArtifactType>(std::move(*t)));
  }
  for (const auto& p : problems) std::fprintf(stderr, "arca: artifact type not loaded: %s\n", p.c_str());
  shared_ = std::move(next);
  shared_version_ = *version;
  Publish();
  return Status::Ok();
}

std::string TypeCatalog::Signature() const {
  std::vector<std::string> entries;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (!EndsWith(name, ".json") && !EndsWith(name, ".svg")) continue;
      struct stat st;
      if (::stat((dir_ + "/" + name).c_str(), &st) != 0) continue;
      entries.push_back(name + ":" + std::to_string(st.st_size) + ":" +
                        std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    }
    ::closedir(d);
  }
  std::sort(entries.begin(), entries.end());
  std::string sig;
  for (const auto& e : entries) sig += e + "\n";
  return sig;
}

void TypeCatalog::Rescan() {
  last_signature_ = Signature();
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (EndsWith(name, ".json") && name[0] != '.') names.push_back(name);
    }
    ::closedir(d);
  }
  std::vector<std::string> problems;
  std::map<std::string, FileState> next;
  for (const std::string& name : names) {
    auto text = ReadSmallFile(dir_ + "/" + name, kMaxDefinitionBytes);
    Result<ArtifactType> t = text.ok() ? ParseArtifactType(*text, name, [&](const std::string& logo) {
      return ReadSmallFile(dir_ + "/" + logo, kMaxDefinitionBytes);
    }) : Result<ArtifactType>(Status(ErrorCode::kManifestInvalid, "unreadable", name + ": " + text.status().message()));
    if (t.ok()) {
      t->source = name.starts_with(kApiPrefix) ? "api" : "file";
      next[name].type = std::make_shared<const ArtifactType>(std::move(*t));
      continue;
    }
    problems.push_back(t.status().detail());
    auto old = files_.find(name);
    if (old != files_.end() && old->second.type) next[name] = old->second;  // keep the last good one
  }
  for (const auto& p : problems) std::fprintf(stderr, "arca: artifact type not loaded: %s\n", p.c_str());
  files_ = std::move(next);
  std::lock_guard<std::mutex> lock(mu_);
  problems_ = std::move(problems);
}

void TypeCatalog::Publish() {
  auto merged = std::make_shared<std::map<std::string, TypePtr>>(builtins_);
  for (const auto& [name, state] : files_) (*merged)[state.type->media_type] = state.type;
  for (const auto& [id, type] : shared_) (*merged)[id] = type;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(merged);
}

TypeCatalog::TypePtr TypeCatalog::Find(const std::string& media_type) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = current_->find(media_type);
  return it == current_->end() ? nullptr : it->second;
}

std::vector<TypeCatalog::TypePtr> TypeCatalog::List() const {
  std::shared_ptr<const std::map<std::string, TypePtr>> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot = current_;
  }
  std::vector<TypePtr> out;
  for (const auto& [id, t] : *snapshot) out.push_back(t);
  return out;
}

std::vector<std::string> TypeCatalog::Problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return problems_;  // the folder's; a stored definition's trouble goes to the log
}

std::string TypeCatalog::FileFor(const std::string& id) const {
  for (const auto& [name, state] : files_) {
    if (state.type->media_type == id) return name;
  }
  return "";
}

Result<bool> TypeCatalog::Put(const std::string& id, const std::string& json_text) {
  auto t = ParseArtifactType(json_text, "request", [&](const std::string& logo) {
    return ReadSmallFile(dir_ + "/" + logo, kMaxDefinitionBytes);
  });
  if (!t.ok()) return t.status();
  if (t->media_type != id) {
    return Status(ErrorCode::kManifestInvalid, "invalid artifact type definition",
                  "request: mediaType: \"" + t->media_type + "\" differs from the URL's \"" + id + "\"");
  }
  if (shared_meta_) {
    // The logo the definition names is kept with it, as read now (sanitised).
    MetaStore::TypeDefinitionRecord record{id, json_text, t->logo_svg, 0};
    std::lock_guard<std::mutex> lock(scan_mu_);
    // What another replica did in the last quarter second counts: created means no type of
    // that id was there, stored by anyone or built in or in this replica's folder.
    (void)RefreshShared(/*force=*/false);
    bool existed = Find(id) != nullptr;
    auto put = shared_meta_->PutTypeDefinition(record);
    if (!put.ok()) return put.status();
    (void)RefreshShared(/*force=*/true);  // stored: a failed re-read only delays it here
    return *put && !existed;
  }
  std::lock_guard<std::mutex> lock(scan_mu_);
  bool created = Find(id) == nullptr;
  std::string name = FileFor(id);
  if (name.empty()) name = kApiPrefix + Slug(id) + ".json";
  std::string tmp = dir_ + "/.tmp-" + name;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return ErrnoStatus("create " + tmp);
    ARCA_RETURN_IF_ERROR(WriteAll(fd.get(), json_text.data(), json_text.size()));
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), (dir_ + "/" + name).c_str()) != 0) return ErrnoStatus("rename " + tmp);
  ARCA_RETURN_IF_ERROR(SyncDir(dir_));
  Rescan();
  Publish();
  return created;
}

Status TypeCatalog::Delete(const std::string& id) {
  std::lock_guard<std::mutex> lock(scan_mu_);
  if (shared_meta_) {
    (void)RefreshShared(/*force=*/false);  // another replica's definition of the last moment
    if (shared_.count(id)) {
      auto deleted = shared_meta_->DeleteTypeDefinition(id);
      if (!deleted.ok()) return deleted.status();
      (void)RefreshShared(/*force=*/true);  // deleted: a failed re-read only delays it here
      // Another replica deleted it first.
      if (!*deleted) return Status(ErrorCode::kNameUnknown, "unknown artifact type", id);
      return Status::Ok();
    }
    if (!FileFor(id).empty()) {
      return Status(ErrorCode::kUnsupported, "defined by a file",
                    id + " is defined by a file in this replica's types folder; remove the "
                    "file there (on every replica)");
    }
  }
  std::string name = FileFor(id);
  if (name.empty()) {
    if (builtins_.count(id)) {
      return Status(ErrorCode::kUnsupported, "built-in types cannot be deleted",
                    id + " is built in; an operator definition may override it");
    }
    return Status(ErrorCode::kNameUnknown, "unknown artifact type", id);
  }
  if (::unlink((dir_ + "/" + name).c_str()) != 0) return ErrnoStatus("unlink " + name);
  ARCA_RETURN_IF_ERROR(SyncDir(dir_));
  Rescan();
  Publish();
  return Status::Ok();
}

}  // namespace arca
