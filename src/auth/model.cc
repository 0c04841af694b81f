#include "auth/model.h"

namespace arca::auth {

const char* PermissionName(Permission p) {
  switch (p) {
    case Permission::kPull: return "pull";
    case Permission::kPush: return "push";
    case Permission::kDelete: return "delete";
    case Permission::kAdmin: return "admin";
  }
  return "?";
}

bool ParsePermission(const std::string& text, Permission& out) {
  if (text == "pull") out = Permission::kPull;
  else if (text == "push") out = Permission::kPush;
  else if (text == "delete") out = Permission::kDelete;
  else if (text == "admin" || text == "*") out = Permission::kAdmin;
  else return false;
  return true;
}

unsigned Implied(Permission p) {
  unsigned pull = static_cast<unsigned>(Permission::kPull);
  switch (p) {
    case Permission::kPull: return pull;
    case Permission::kPush: return pull | static_cast<unsigned>(Permission::kPush);
    case Permission::kDelete: return pull | static_cast<unsigned>(Permission::kDelete);
    case Permission::kAdmin: return 15;
  }
  return 0;
}

const char* KindName(Account::Kind k) { return k == Account::kRobot ? "robot" : "user"; }

bool ValidAccountName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

}  // namespace arca::auth
