// The account model (docs/auth.md): accounts (users and robots), groups, personal access
// tokens and grants. Plain values; the AccountStore keeps them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace arca::auth {

// Permissions on repositories, each including the ones before it except as noted:
// push and delete include pull; admin includes everything, and admin on "**" is registry-wide.
enum class Permission { kPull = 1, kPush = 2, kDelete = 4, kAdmin = 8 };
const char* PermissionName(Permission p);
// "pull", "push", "delete" or "admin" (also "*", which is all four); false for anything else.
bool ParsePermission(const std::string& text, Permission& out);
// The permissions a grant of p carries, as a bit set of Permission values.
unsigned Implied(Permission p);

struct Account {
  enum Kind { kUser, kRobot };
  std::string name;
  Kind kind = kUser;
  std::string secret_hash;  // argon2id/bcrypt for users, SecretDigest for robots
  bool disabled = false;
  int64_t created_at = 0;
  int64_t expires_at = 0;   // robots may expire; 0: never
  std::string description;
};
const char* KindName(Account::Kind k);  // "user", "robot"

struct PersonalToken {
  std::string id;            // public, random: names the token in listings and revocation
  std::string account;       // the user it acts as
  std::string description;
  std::string secret_digest; // SecretDigest of the secret part
  int64_t created_at = 0;
  int64_t expires_at = 0;    // required: tokens always expire
};

// Who a grant is for: "user:<name>", "robot:<name>", "group:<name>", "anonymous" (callers
// without credentials) or "authenticated" (every account).
struct Grant {
  int64_t id = 0;
  std::string subject;
  std::string repositories;  // a pattern (auth/pattern.h)
  Permission permission = Permission::kPull;
  int64_t created_at = 0;
};

struct Membership {
  std::string group;
  std::string member;  // an account name
};

// Everything decisions need, loaded at once; small (thousands of rows at most).
struct AccountSnapshot {
  std::vector<Account> accounts;
  std::vector<PersonalToken> tokens;
  std::vector<Grant> grants;
  std::vector<Membership> memberships;
};

// Account, group and token names: 1-64 of [a-z0-9._-], starting with a letter or digit.
bool ValidAccountName(const std::string& name);

}  // namespace arca::auth
