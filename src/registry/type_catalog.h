// TypeCatalog: the artifact types Arca knows. Built-in definitions ship inside the binary;
// operators add or override them with files in a folder (dropped there, or written by the
// admin API). The folder is re-read when it changes; a definition that fails to load is
// reported and leaves the previously loaded version of that file in force. Thread-safe:
// readers get immutable snapshots.
//
// Replicas sharing a metadata database (ShareThrough) keep the definitions written through
// the API in it instead of in files: each replica sees the others' within a quarter second
// (it polls MetaStore::SettingsVersion), and they take precedence over the folder's files,
// which stay each replica's own (deployed alike on every replica, as its configuration is).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta_store.h"
#include "types/artifact_type.h"
#include "util/log_limiter.h"
#include "util/status.h"

namespace arca {

struct EmbeddedFile {
  const char* name;
  const char* content;
};

class TypeCatalog {
 public:
  using TypePtr = std::shared_ptr<const ArtifactType>;

  // builtins: *.json definitions and the *.svg files they name. dir: the operators' folder
  // (created if missing).
  TypeCatalog(std::vector<EmbeddedFile> builtins, std::string dir);
  ~TypeCatalog();

  // Before Load: definitions written through the API live in meta, shared by every process
  // on it, rather than in "api--" files of this process's folder.
  void ShareThrough(MetaStore* meta) { shared_meta_ = meta; }
  // Loads everything. A built-in that fails to load is a bug: that is the error returned.
  Status Load();
  // Re-reads the folder every interval_ms while it changes, until destruction.
  void Watch(int interval_ms);

  TypePtr Find(const std::string& media_type) const;
  std::vector<TypePtr> List() const;  // sorted by media type
  // Problems of the last folder scan, "<file>: <field>: <why>".
  std::vector<std::string> Problems() const;

  // Adds or replaces the operator definition of id (source "api"); returns true when no type
  // of that id existed before. MANIFEST_INVALID for an invalid definition or an id that is
  // not the definition's mediaType; nothing changes then. Shared: stored in the metadata.
  Result<bool> Put(const std::string& id, const std::string& json_text);
  // Removes the operator definition of id. NAME_UNKNOWN when there is no such type;
  // UNSUPPORTED for a built-in without an override, and, shared, for a definition that only
  // a file of this replica's folder makes (removing it here would not remove it elsewhere).
  Status Delete(const std::string& id);

 private:
  struct FileState {
    std::string signature;  // size and mtime, to notice changes
    TypePtr type;           // the last version that loaded
  };
  std::string Signature() const;
  void Rescan();  // REQUIRES(scan_mu_)
  void Publish();  // REQUIRES(scan_mu_)
  std::string FileFor(const std::string& id) const;  // REQUIRES(scan_mu_): "" when none
  // Reads the shared definitions again if their version moved (or force); publishes.
  Status RefreshShared(bool force);  // REQUIRES(scan_mu_)

  std::vector<EmbeddedFile> builtin_files_;
  std::string dir_;
  std::map<std::string, TypePtr> builtins_;

  std::mutex scan_mu_;  // one scan or write at a time
  std::map<std::string, FileState> files_;  // GUARDED_BY(scan_mu_), by file name
  std::string last_signature_;              // GUARDED_BY(scan_mu_)
  MetaStore* shared_meta_ = nullptr;
  std::map<std::string, TypePtr> shared_;   // GUARDED_BY(scan_mu_): by id
  int64_t shared_version_ = -1;             // GUARDED_BY(scan_mu_)
  LogLimiter refresh_errors_{1, 60};  // one line a minute while the store cannot be read

  mutable std::mutex mu_;
  std::shared_ptr<const std::map<std::string, TypePtr>> current_;  // GUARDED_BY(mu_)
  std::vector<std::string> problems_;                              // GUARDED_BY(mu_)

  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

// The built-in definitions compiled into the binary (generated from types/builtin/).
std::vector<EmbeddedFile> BuiltinTypeFiles();

}  // namespace arca
