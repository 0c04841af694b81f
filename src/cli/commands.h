// The `arca` subcommands besides serve, and what every subcommand shares: loading settings,
// reporting a failure, and the store lock that tells whether a server holds a store.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "gc/collector.h"
#include "util/status.h"

namespace arca {

// Takes a flag a subcommand understands out of args (the rest are settings); whether it was
// there.
bool TakeFlag(std::vector<std::string>& args, const std::string& flag);
// Prints "arca: <message>: <detail>" and returns exit status 2.
int Fail(const Status& s);
// Defaults, then --config/ARCA_CONFIG file, then ARCA_* environment, then flags.
Result<Config> LoadConfig(const std::vector<std::string>& args);
GcSettings GcSettingsOf(const Config& config);

// An exclusive lock on <root>/arca.lock, held by `arca serve` for its lifetime (released by
// the kernel when the process dies, even by kill -9).
class StoreLock {
 public:
  StoreLock() = default;
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  // Tries to take the lock; held() tells whether it was free.
  Status Acquire(const std::string& root);
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

int GcCommand(const std::vector<std::string>& args);    // arca gc
int FsckCommand(const std::vector<std::string>& args);  // arca fsck
int MigrateCommand(const std::vector<std::string>& args);  // arca migrate status|up
// arca types import | arca policy import|show|clear (settings_commands.cc).
int SettingsCommand(const std::string& what, const std::vector<std::string>& args);
// arca user|robot|token|group|grant|keys (auth_commands.cc).
int AuthCommand(const std::string& what, const std::vector<std::string>& args);

}  // namespace arca
