// arca user|robot|token|group|grant|keys: accounts and their rights, on the store's auth.db
// (docs/auth.md). Safe while a server runs: it sees the change at its next request.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "auth/account_admin.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "cli/auth_setup.h"
#include "cli/commands.h"
#include "util/duration.h"
#include "util/utc_time.h"

namespace arca {
namespace {

const char kAuthUsage[] = R"(Accounts and rights (auth: token; docs/auth.md):
  arca user add NAME [--password-stdin]      password from stdin, else $ARCA_PASSWORD
  arca user passwd NAME [--password-stdin]
  arca user disable|enable|rm NAME
  arca user list
  arca user import-htpasswd FILE             bcrypt entries, as CNCF Distribution uses
  arca robot add NAME [--expires 30d]        prints the robot's secret, once
  arca robot reset NAME                      a new secret (the old one stops at once)
  arca robot rm NAME | arca robot list
  arca token add ACCOUNT [--expires 90d] [--description TEXT]   prints the token, once
  arca token rm ACCOUNT ID | arca token list ACCOUNT
  arca group add|rm GROUP MEMBER | arca group list
  arca grant add SUBJECT REPOSITORIES PERMISSION   e.g. user:alice 'team/**' push
  arca grant rm ID | arca grant list
  arca keys rotate                           a new signing key; the old one verifies until
                                             its tokens have expired
Each also takes the settings (--root, --config, ...).
)";

// Takes "--flag value" out of args.
std::optional<std::string> TakeValue(std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) {
      std::string v = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return v;
    }
  }
  return std::nullopt;
}

// Positional words come first; the settings (--key value) follow.
std::vector<std::string> TakeWords(std::vector<std::string>& args) {
  std::vector<std::string> words;
  while (!args.empty() && !args.front().starts_with("--")) {
    words.push_back(args.front());
    args.erase(args.begin());
  }
  return words;
}

Result<std::string> ReadPassword(bool from_stdin) {
  std::string pw;
  if (from_stdin) {
    std::getline(std::cin, pw);
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  } else if (const char* env = std::getenv("ARCA_PASSWORD")) {
    pw = env;
  } else {
    return Status(ErrorCode::kQueryInvalid, "no password",
                  "pass --password-stdin, or set ARCA_PASSWORD");
  }
  return pw;
}

int Usage() {
  std::fputs(kAuthUsage, stderr);
  return 2;
}

std::string Time(int64_t t) {
  return t == 0 ? "-" : Rfc3339(t);
}

int UserOrRobot(bool robot, std::vector<std::string>& words, std::vector<std::string>& args,
                auth::AccountAdmin& admin) {
  auth::AccountStore& store = admin.store();
  int64_t now = time(nullptr);
  std::string verb = words.size() > 1 ? words[1] : "";
  std::string name = words.size() > 2 ? words[2] : "";
  Status s;
  if (verb == "list") {
    auto snap = store.Load();
    if (!snap.ok()) return Fail(snap.status());
    for (const auth::Account& a : snap->accounts) {
      if ((a.kind == auth::Account::kRobot) != robot) continue;
      std::printf("%s\t%s\tcreated %s\texpires %s\n", a.name.c_str(),
                  a.disabled ? "disabled" : "enabled", Time(a.created_at).c_str(),
                  Time(a.expires_at).c_str());
    }
    return 0;
  }
  if (name.empty()) return Usage();
  if (verb == "add" && robot) {
    int64_t expires = 0;
    if (auto e = TakeValue(args, "--expires")) {
      auto d = ParseDuration(*e);
      if (!d.ok() || *d <= 0) return Fail(Status(ErrorCode::kQueryInvalid, "invalid --expires", *e));
      expires = now + *d;
    }
    auto secret = admin.AddRobot(name, now, expires);
    if (!secret.ok()) return Fail(secret.status());
    std::printf("%s\n", secret->c_str());
    return 0;
  }
  if (verb == "reset" && robot) {
    auto secret = admin.ResetRobotSecret(name);
    if (!secret.ok()) return Fail(secret.status());
    std::printf("%s\n", secret->c_str());
    return 0;
  }
  if (verb == "rm" || verb == "disable" || verb == "enable" || verb == "passwd" || verb == "reset") {
    // `arca robot rm alice` must not remove the user alice, nor the reverse.
    auto snap = store.Load();
    if (!snap.ok()) return Fail(snap.status());
    for (const auth::Account& a : snap->accounts) {
      if (a.name == name && (a.kind == auth::Account::kRobot) != robot) {
        return Fail(Status(ErrorCode::kQueryInvalid, std::string("not a ") + (robot ? "robot" : "user"),
                           name + " is a " + auth::KindName(a.kind)));
      }
    }
  }
  if (verb == "add" || verb == "passwd") {
    auto pw = ReadPassword(TakeFlag(args, "--password-stdin"));
    if (!pw.ok()) return Fail(pw.status());
    s = verb == "add" ? admin.AddUser(name, *pw, now) : admin.SetPassword(name, *pw);
  } else if (verb == "import-htpasswd" && !robot) {
    std::ifstream in(name);
    if (!in) return Fail(Status(ErrorCode::kInternal, "cannot read", name));
    std::stringstream text;
    text << in.rdbuf();
    auto entries = auth::ParseHtpasswd(text.str());
    if (!entries.ok()) return Fail(entries.status());
    int imported = 0;
    for (const auto& [user, hash] : *entries) {
      Status one = admin.ImportUser(user, hash, now);
      if (one.ok()) {
        ++imported;
      } else {
        std::fprintf(stderr, "arca: %s: %s: %s\n", user.c_str(), one.message().c_str(),
                     one.detail().c_str());
      }
    }
    std::printf("imported %d of %zu users\n", imported, entries->size());
    return imported == static_cast<int>(entries->size()) ? 0 : 1;
  } else if (verb == "disable" || verb == "enable") {
    s = admin.SetDisabled(name, verb == "disable");
  } else if (verb == "rm") {
    s = admin.RemoveAccount(name);
  } else {
    return Usage();
  }
  return s.ok() ? 0 : Fail(s);
}

int TokenCommand(std::vector<std::string>& words, std::vector<std::string>& args,
                 auth::AccountAdmin& admin) {
  std::string verb = words.size() > 1 ? words[1] : "";
  std::string account = words.size() > 2 ? words[2] : "";
  if (account.empty()) return Usage();
  if (verb == "add") {
    int64_t lifetime = auth::kDefaultTokenLifetime;
    if (auto e = TakeValue(args, "--expires")) {
      auto d = ParseDuration(*e);
      if (!d.ok()) return Fail(Status(ErrorCode::kQueryInvalid, "invalid --expires", *e));
      lifetime = *d;
    }
    auto t = admin.AddToken(account, TakeValue(args, "--description").value_or(""), lifetime,
                            time(nullptr));
    if (!t.ok()) return Fail(t.status());
    std::printf("%s\n", t->secret.c_str());
    return 0;
  }
  if (verb == "rm" && words.size() > 3) {
    Status s = admin.store().RemoveToken(account, words[3]);
    return s.ok() ? 0 : Fail(s);
  }
  if (verb == "list") {
    auto snap = admin.store().Load();
    if (!snap.ok()) return Fail(snap.status());
    for (const auth::PersonalToken& t : snap->tokens) {
      if (t.account != account) continue;
      std::printf("%s\t%s\texpires %s\t%s\n", t.id.c_str(), t.account.c_str(),
                  Time(t.expires_at).c_str(), t.description.c_str());
    }
    return 0;
  }
  return Usage();
}

int GroupCommand(std::vector<std::string>& words, auth::AccountAdmin& admin) {
  std::string verb = words.size() > 1 ? words[1] : "";
  if (verb == "list") {
    auto snap = admin.store().Load();
    if (!snap.ok()) return Fail(snap.status());
    for (const auth::Membership& m : snap->memberships) {
      std::printf("%s\t%s\n", m.group.c_str(), m.member.c_str());
    }
    return 0;
  }
  if (words.size() != 4 || (verb != "add" && verb != "rm")) return Usage();
  Status s = verb == "add" ? admin.AddMember(words[2], words[3])
                           : admin.RemoveMember(words[2], words[3]);
  return s.ok() ? 0 : Fail(s);
}

int GrantCommand(std::vector<std::string>& words, auth::AccountAdmin& admin) {
  std::string verb = words.size() > 1 ? words[1] : "";
  if (verb == "list") {
    auto snap = admin.store().Load();
    if (!snap.ok()) return Fail(snap.status());
    for (const auth::Grant& g : snap->grants) {
      std::printf("%lld\t%s\t%s\t%s\n", static_cast<long long>(g.id), g.subject.c_str(),
                  g.repositories.c_str(), auth::PermissionName(g.permission));
    }
    return 0;
  }
  if (verb == "add" && words.size() == 5) {
    auto id = admin.AddGrant(words[2], words[3], words[4], time(nullptr));
    if (!id.ok()) return Fail(id.status());
    std::printf("%lld\n", static_cast<long long>(*id));
    return 0;
  }
  if (verb == "rm" && words.size() == 3) {
    char* end = nullptr;
    long long id = std::strtoll(words[2].c_str(), &end, 10);
    if (*end || id <= 0) return Usage();
    Status s = admin.RemoveGrant(id);
    return s.ok() ? 0 : Fail(s);
  }
  return Usage();
}

}  // namespace

int AuthCommand(const std::string& what, const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  std::vector<std::string> words = TakeWords(args);
  words.insert(words.begin(), what);
  bool stdin_pw = TakeFlag(args, "--password-stdin");
  auto expires = TakeValue(args, "--expires");
  auto description = TakeValue(args, "--description");
  auto config = LoadConfig(args);
  if (!config.ok()) return Fail(config.status());
  // Flags of the commands are put back for them: LoadConfig takes only settings.
  std::vector<std::string> own;
  if (stdin_pw) own.push_back("--password-stdin");
  if (expires) own.insert(own.end(), {"--expires", *expires});
  if (description) own.insert(own.end(), {"--description", *description});
  if (what == "keys") {
    if (words.size() != 2 || words[1] != "rotate") return Usage();
    auto kid = auth::KeyRing::Rotate(KeysDir(*config), time(nullptr), KeyKeepSeconds(*config));
    if (!kid.ok()) return Fail(kid.status());
    std::printf("%s\n", kid->c_str());
    return 0;
  }
  auto store = OpenAccounts(*config);
  if (!store.ok()) return Fail(store.status());
  auth::AccountAdmin admin(**store);
  if (what == "user" || what == "robot") return UserOrRobot(what == "robot", words, own, admin);
  if (what == "token") return TokenCommand(words, own, admin);
  if (what == "group") return GroupCommand(words, admin);
  if (what == "grant") return GrantCommand(words, admin);
  return Usage();
}

}  // namespace arca
