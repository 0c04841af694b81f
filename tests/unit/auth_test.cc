// Decisions of auth::Auth over the real SQLite account store and key ring in a temp dir, with
// an injected clock.
#include "auth/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <atomic>
#include <thread>

#include "auth/account_admin.h"
#include "auth/password.h"
#include "meta_backend.h"
#include "temp_dir.h"

namespace arca::auth {
namespace {

std::string BasicHeader(const std::string& user, const std::string& secret) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + secret, out;
  for (size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

// On every metadata backend (meta_backend.h): the accounts live where it keeps them.
class AuthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = dir_holder_.path();
    backend_ = arca::testing::NewMetaBackend(GetParam(), dir_.string());
    auto store = backend_->OpenAccounts();
    ASSERT_TRUE(store.ok()) << store.status().detail();
    store_ = std::move(*store);
    auto keys = KeyRing::Open((dir_ / "keys").string(), 600);
    ASSERT_TRUE(keys.ok()) << keys.status().detail();
    keys_ = std::move(*keys);
    AuthOptions options;
    options.max_failures_per_account = 3;
    options.max_failures_per_address = 5;
    auth_ = std::make_unique<Auth>(*store_, *keys_, options, [this] { return now_; });
    admin_ = std::make_unique<AccountAdmin>(*store_);
  }
  Principal Login(const std::string& user, const std::string& secret) {
    auto p = auth_->Authenticate(BasicHeader(user, secret), "10.0.0.1");
    EXPECT_TRUE(p.ok()) << user << ": " << p.status().message();
    return p.ok() ? *p : Principal{};
  }
  std::string TokenFor(const Principal& p, std::vector<Access> asked) {
    auto t = auth_->Issue(p, asked, false);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? t->token : "";
  }

  arca::testing::TempDir dir_holder_;
  std::filesystem::path dir_;
  std::unique_ptr<arca::testing::MetaBackend> backend_;
  int64_t now_ = 1'800'000'000;
  std::unique_ptr<AccountStore> store_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<AccountAdmin> admin_;
};

TEST_P(AuthTest, GrantsImplyAndMatch) {
  ASSERT_TRUE(admin_->AddUser("alice", "alice-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:alice", "team/**", "push", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:alice", "shared", "delete", now_).ok());
  Principal alice = Login("alice", "alice-password");
  EXPECT_TRUE(auth_->Allowed(alice, "team/app", Permission::kPull));  // push includes pull
  EXPECT_TRUE(auth_->Allowed(alice, "team/app/x", Permission::kPush));
  EXPECT_FALSE(auth_->Allowed(alice, "team/app", Permission::kDelete));
  EXPECT_FALSE(auth_->Allowed(alice, "team", Permission::kPull));
  EXPECT_TRUE(auth_->Allowed(alice, "shared", Permission::kDelete));
  EXPECT_TRUE(auth_->Allowed(alice, "shared", Permission::kPull));
  EXPECT_FALSE(auth_->Allowed(alice, "shared", Permission::kPush));
  EXPECT_FALSE(auth_->IsAdmin(alice));
  EXPECT_FALSE(auth_->Allowed(Principal{}, "team/app", Permission::kPull));
}

TEST_P(AuthTest, GroupsAnonymousAndAuthenticated) {
  ASSERT_TRUE(admin_->AddUser("bob", "bob-password", now_).ok());
  ASSERT_TRUE(admin_->AddMember("devs", "bob").ok());
  ASSERT_TRUE(admin_->AddGrant("group:devs", "dev/*", "push", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("anonymous", "public/**", "pull", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("authenticated", "internal/**", "pull", now_).ok());
  Principal bob = Login("bob", "bob-password");
  EXPECT_TRUE(auth_->Allowed(bob, "dev/x", Permission::kPush));
  EXPECT_TRUE(auth_->Allowed(bob, "internal/y", Permission::kPull));
  // what anonymous callers may do, every caller may
  EXPECT_TRUE(auth_->Allowed(bob, "public/z", Permission::kPull));
  EXPECT_FALSE(auth_->Allowed(bob, "public/z", Permission::kPush));
  Principal anon;
  EXPECT_TRUE(auth_->Allowed(anon, "public/z", Permission::kPull));
  EXPECT_FALSE(auth_->Allowed(anon, "internal/y", Permission::kPull));
  ASSERT_TRUE(store_->RemoveMember("devs", "bob").ok());
  auth_->Invalidate();
  EXPECT_FALSE(auth_->Allowed(bob, "dev/x", Permission::kPush));
}

TEST_P(AuthTest, IssuedTokensCarryOnlyWhatIsGranted) {
  ASSERT_TRUE(admin_->AddUser("carol", "carol-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:carol", "c/app", "pull", now_).ok());
  Principal carol = Login("carol", "carol-password");
  auto t = auth_->Issue(carol, ParseScopes({"repository:c/app:pull,push,delete",
                                            "repository:c/other:pull registry:arca:admin",
                                            "repository:C/app:pull", "registry:catalog:*"}),
                        true);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->access.size(), 2u);
  EXPECT_EQ(t->access[0], (Access{"repository", "c/app", {"pull"}}));
  EXPECT_EQ(t->access[1], (Access{"registry", "catalog", {"*"}}));
  EXPECT_FALSE(t->refresh_token.empty());
  auto p = auth_->Authenticate("Bearer " + t->token, "10.0.0.1");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->scoped);
  EXPECT_EQ(p->name, "carol");
  EXPECT_TRUE(auth_->Allowed(*p, "c/app", Permission::kPull));
  // a grant added later does not widen a token already issued
  ASSERT_TRUE(admin_->AddGrant("user:carol", "c/other", "pull", now_).ok());
  auth_->Invalidate();
  EXPECT_FALSE(auth_->Allowed(*p, "c/other", Permission::kPull));
  // a grant removed narrows it at once
  auto snap = store_->Load();
  ASSERT_TRUE(store_->RemoveGrant(snap->grants[0].id).ok());
  auth_->Invalidate();
  EXPECT_FALSE(auth_->Allowed(*p, "c/app", Permission::kPull));
  // tokens cannot be traded for tokens
  EXPECT_EQ(auth_->Issue(*p, {}, false).status().code(), ErrorCode::kDenied);
}

TEST_P(AuthTest, TokensExpireAndAccountsRevoke) {
  ASSERT_TRUE(admin_->AddUser("dave", "dave-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:dave", "d/**", "pull", now_).ok());
  std::string tok = TokenFor(Login("dave", "dave-password"), ParseScopes({"repository:d/x:pull"}));
  EXPECT_TRUE(auth_->Authenticate("Bearer " + tok, "").ok());
  now_ += 300 + 31;  // past exp and the leeway
  EXPECT_EQ(auth_->Authenticate("Bearer " + tok, "").status().code(), ErrorCode::kUnauthorized);
  now_ -= 300 + 31;
  EXPECT_TRUE(auth_->Authenticate("Bearer " + tok, "").ok());
  ASSERT_TRUE(admin_->SetPassword("dave", "dave-password-2").ok());
  auth_->Invalidate();
  EXPECT_EQ(auth_->Authenticate("Bearer " + tok, "").status().code(), ErrorCode::kUnauthorized);
  // the Basic cache does not outlive a password change
  EXPECT_EQ(auth_->Authenticate(BasicHeader("dave", "dave-password"), "").status().code(),
            ErrorCode::kUnauthorized);
  EXPECT_TRUE(auth_->Authenticate(BasicHeader("dave", "dave-password-2"), "").ok());
  ASSERT_TRUE(store_->SetDisabled("dave", true).ok());
  auth_->Invalidate();
  EXPECT_EQ(auth_->Authenticate(BasicHeader("dave", "dave-password-2"), "").status().code(),
            ErrorCode::kUnauthorized);
}

TEST_P(AuthTest, ChangesByAnotherProcessAreSeenWithoutInvalidate) {
  ASSERT_TRUE(admin_->AddUser("erin", "erin-password", now_).ok());
  Principal erin = Login("erin", "erin-password");
  EXPECT_FALSE(auth_->Allowed(erin, "e/x", Permission::kPull));
  // a second connection, as the `arca grant` command would have
  auto other = backend_->OpenAccounts();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(AccountAdmin(**other).AddGrant("user:erin", "e/**", "pull", now_).ok());
  // seen once the 2 ms between looks at the store's version have passed
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = auth_->Allowed(erin, "e/x", Permission::kPull);
    if (!seen) ::usleep(5000);
  }
  EXPECT_TRUE(seen);
}

TEST_P(AuthTest, FailedLoginsAreLimitedPerAccountAndAddress) {
  ASSERT_TRUE(admin_->AddUser("frank", "frank-password", now_).ok());
  ASSERT_TRUE(admin_->AddUser("grace", "grace-password", now_).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth_->Authenticate(BasicHeader("frank", "wrong"), "10.0.0.9").status().code(),
              ErrorCode::kUnauthorized);
  }
  int64_t retry = 0;
  auto p = auth_->Authenticate(BasicHeader("frank", "frank-password"), "10.0.0.9", &retry);
  EXPECT_EQ(p.status().code(), ErrorCode::kTooManyRequests);
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 300);
  // the account is not locked for its owner elsewhere, nor other accounts from that address
  EXPECT_TRUE(auth_->Authenticate(BasicHeader("frank", "frank-password"), "10.0.0.8").ok());
  EXPECT_TRUE(auth_->Authenticate(BasicHeader("grace", "grace-password"), "10.0.0.9").ok());
  now_ += 301;
  EXPECT_TRUE(auth_->Authenticate(BasicHeader("frank", "frank-password"), "10.0.0.9").ok());
  // per address: five failures on different accounts
  for (int i = 0; i < 5; ++i) {
    (void)auth_->Authenticate(BasicHeader("nobody" + std::to_string(i), "x"), "10.0.0.7");
  }
  EXPECT_EQ(auth_->Authenticate(BasicHeader("grace", "grace-password"), "10.0.0.7").status().code(),
            ErrorCode::kTooManyRequests);
  // an IPv6 /64 is one address
  for (int i = 0; i < 5; ++i) {
    (void)auth_->Authenticate(BasicHeader("ghost" + std::to_string(i), "x"),
                              "2001:db8:1:2::" + std::to_string(i + 1));
  }
  EXPECT_EQ(auth_->Authenticate(BasicHeader("grace", "grace-password"), "2001:db8:1:2:ffff::9")
                .status().code(),
            ErrorCode::kTooManyRequests);
  EXPECT_TRUE(auth_->Authenticate(BasicHeader("grace", "grace-password"), "2001:db8:1:3::1").ok());
}

TEST_P(AuthTest, ExpiredPersonalTokenEndsTheTokensAndRefreshTokensMadeWithIt) {
  ASSERT_TRUE(admin_->AddUser("judy", "judy-password", now_).ok());
  auto pat = admin_->AddToken("judy", "short", 600, now_);
  ASSERT_TRUE(pat.ok());
  Principal via = Login("judy", pat->secret);
  auto issued = auth_->Issue(via, {}, true);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->expires_in, 300);
  now_ += 500;
  // a token got now lives no longer than the personal token
  auto later = auth_->Issue(*auth_->Refresh(issued->refresh_token), {}, true);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->expires_in, 100);
  now_ += 101;
  EXPECT_EQ(auth_->Refresh(later->refresh_token).status().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(auth_->Authenticate("Bearer " + later->token, "").status().code(),
            ErrorCode::kUnauthorized);
  // and robots have no personal tokens
  ASSERT_TRUE(admin_->AddRobot("bot", now_).ok());
  EXPECT_EQ(admin_->AddToken("bot", "x", 60, now_).status().code(), ErrorCode::kQueryInvalid);
}

TEST_P(AuthTest, SchemesAreCaseInsensitiveAndTokensDeduplicated) {
  ASSERT_TRUE(admin_->AddUser("kim", "kim-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:kim", "k/**", "push", now_).ok());
  std::string basic = BasicHeader("kim", "kim-password");
  EXPECT_TRUE(auth_->Authenticate("basic " + basic.substr(6), "").ok());
  EXPECT_TRUE(auth_->Authenticate("BASIC " + basic.substr(6), "").ok());
  Principal kim = Login("kim", "kim-password");
  std::vector<std::string> many(63, "repository:k/a:pull");
  many.insert(many.begin(), "repository:k/a:push");
  auto t = auth_->Issue(kim, ParseScopes(many), false);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->access.size(), 1u);  // one entry for the resource, its actions merged
  EXPECT_EQ(t->access[0].actions, (std::vector<std::string>{"push", "pull"}));
  EXPECT_TRUE(auth_->Authenticate("bearer " + t->token, "").ok());
}

TEST_P(AuthTest, RobotsPersonalTokensAndRefresh) {
  auto secret = admin_->AddRobot("ci", now_);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(store_->Load()->accounts[0].secret_hash, SecretDigest(*secret));  // never in clear
  Principal robot = Login("ci", *secret);
  EXPECT_TRUE(robot.robot);
  ASSERT_TRUE(admin_->AddUser("heidi", "heidi-password", now_).ok());
  auto pat = admin_->AddToken("heidi", "laptop", 3600, now_);
  ASSERT_TRUE(pat.ok());
  Principal via = Login("heidi", pat->secret);
  EXPECT_EQ(via.via_token, pat->token.id);
  auto issued = auth_->Issue(via, {}, true);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(auth_->Refresh(issued->refresh_token).ok());
  EXPECT_EQ(auth_->Refresh(issued->token).status().code(), ErrorCode::kUnauthorized);
  ASSERT_TRUE(store_->RemoveToken("heidi", pat->token.id).ok());
  auth_->Invalidate();
  EXPECT_EQ(auth_->Refresh(issued->refresh_token).status().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(auth_->Authenticate("Bearer " + issued->token, "").status().code(),
            ErrorCode::kUnauthorized);
  now_ += 3601;
  auto expired = admin_->AddToken("heidi", "short", 10, now_ - 20);
  ASSERT_TRUE(expired.ok());
  auth_->Invalidate();
  EXPECT_EQ(auth_->Authenticate(BasicHeader("heidi", expired->secret), "").status().code(),
            ErrorCode::kUnauthorized);
}

TEST_P(AuthTest, RegistryWideAdminNeedsAGrantOnEverything) {
  ASSERT_TRUE(admin_->AddUser("ivan", "ivan-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:ivan", "*", "admin", now_).ok());
  Principal ivan = Login("ivan", "ivan-password");
  EXPECT_FALSE(auth_->IsAdmin(ivan));
  EXPECT_TRUE(auth_->Allowed(ivan, "top", Permission::kDelete));
  ASSERT_TRUE(admin_->AddGrant("user:ivan", "**", "admin", now_).ok());
  auth_->Invalidate();
  EXPECT_TRUE(auth_->IsAdmin(ivan));
  // a bearer token is admin only if it carries registry:arca:admin
  auto plain = auth_->Authenticate("Bearer " + TokenFor(ivan, {}), "");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(auth_->IsAdmin(*plain));
  auto with = auth_->Authenticate(
      "Bearer " + TokenFor(ivan, ParseScopes({"registry:arca:admin"})), "");
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(auth_->IsAdmin(*with));
  EXPECT_EQ(admin_->AddGrant("anonymous", "**", "admin", now_).status().code(),
            ErrorCode::kQueryInvalid);
}

TEST_P(AuthTest, TheLastAdministratorStays) {
  ASSERT_TRUE(admin_->AddUser("root1", "root1-password", now_).ok());
  auto grant = admin_->AddGrant("user:root1", "**", "admin", now_);
  ASSERT_TRUE(grant.ok());
  // the one admin can be neither removed, disabled, nor lose the grant
  EXPECT_EQ(admin_->RemoveAccount("root1").code(), ErrorCode::kConflict);
  EXPECT_EQ(admin_->SetDisabled("root1", true).code(), ErrorCode::kConflict);
  EXPECT_EQ(admin_->RemoveGrant(*grant).code(), ErrorCode::kConflict);
  // with a second admin (through a group), the first may go; then the group's member stays
  ASSERT_TRUE(admin_->AddUser("root2", "root2-password", now_).ok());
  ASSERT_TRUE(admin_->AddMember("ops", "root2").ok());
  ASSERT_TRUE(admin_->AddGrant("group:ops", "**", "admin", now_).ok());
  EXPECT_TRUE(admin_->RemoveAccount("root1").ok());
  EXPECT_EQ(admin_->RemoveMember("ops", "root2").code(), ErrorCode::kConflict);
  EXPECT_TRUE(admin_->SetDisabled("root2", false).ok());
  // grants name accounts that exist, of the kind they say
  EXPECT_EQ(admin_->AddGrant("user:nobody", "x", "pull", now_).status().code(), ErrorCode::kNameUnknown);
  ASSERT_TRUE(admin_->AddRobot("bot", now_).ok());
  EXPECT_EQ(admin_->AddGrant("user:bot", "x", "pull", now_).status().code(), ErrorCode::kNameUnknown);
  EXPECT_TRUE(admin_->AddGrant("robot:bot", "x", "pull", now_).ok());
  EXPECT_TRUE(admin_->AddGrant("group:not-yet", "x", "pull", now_).ok());  // groups are implicit
}

// Two administrators disabling each other at the same moment, through two connections (two
// processes, or two replicas on PostgreSQL): the rule is judged inside each change's
// transaction, so exactly one of them succeeds and an administrator remains.
TEST_P(AuthTest, TwoAdminsDisablingEachOtherAtOnceLeaveOne) {
  std::string survivor;  // of the round before: stands down once the next pair is there
  for (int round = 0; round < 5; ++round) {
    std::string a = "adm-a" + std::to_string(round), b = "adm-b" + std::to_string(round);
    for (const std::string& n : {a, b}) {
      ASSERT_TRUE(admin_->AddUser(n, n + "-password", now_).ok());
      ASSERT_TRUE(admin_->AddGrant("user:" + n, "**", "admin", now_).ok());
    }
    if (!survivor.empty()) {
      ASSERT_TRUE(admin_->SetDisabled(survivor, true).ok());
    }
    // Now a and b are the only enabled administrators.
    auto other = backend_->OpenAccounts();
    ASSERT_TRUE(other.ok()) << other.status().detail();
    AccountAdmin second(**other);
    Status first_done, second_done;
    std::thread t1([&] { first_done = admin_->SetDisabled(a, true); });
    std::thread t2([&] { second_done = second.SetDisabled(b, true); });
    t1.join();
    t2.join();
    EXPECT_NE(first_done.ok(), second_done.ok())
        << first_done.message() << " / " << second_done.message();
    for (const Status& s : {first_done, second_done}) {
      if (!s.ok()) {
        EXPECT_EQ(s.code(), ErrorCode::kConflict) << s.detail();
      }
    }
    auto snap = store_->Load();
    ASSERT_TRUE(snap.ok());
    int enabled = 0;
    for (const Account& acc : snap->accounts) {
      enabled += (acc.name == a || acc.name == b) && !acc.disabled;
    }
    EXPECT_EQ(enabled, 1);
    survivor = first_done.ok() ? b : a;
  }
}

// The store judges a Check inside the change's transaction: two changes whose checks both
// run before either commits (each waits in its check for the other) cannot both pass on the
// state they saw. PostgreSQL's SERIALIZABLE aborts one, which runs again and sees the other's
// change; SQLite's single writer never lets the second begin before the first commits (its
// check then waits out its patience alone).
TEST_P(AuthTest, AChangesCheckSeesAChangeMadeConcurrently) {
  for (std::string n : {"ca", "cb"}) {
    ASSERT_TRUE(admin_->AddUser(n, n + "-password", now_).ok());
  }
  auto other = backend_->OpenAccounts();
  ASSERT_TRUE(other.ok()) << other.status().detail();
  std::atomic<int> arrived{0};
  // The rule: one of ca and cb stays enabled.
  AccountStore::Check check = [&](const AccountSnapshot&, const AccountSnapshot& after) {
    ++arrived;
    for (int i = 0; i < 200 && arrived.load() < 2; ++i) ::usleep(10000);
    int enabled = 0;
    for (const Account& a : after.accounts) enabled += (a.name == "ca" || a.name == "cb") && !a.disabled;
    return enabled > 0 ? Status::Ok() : Status(ErrorCode::kConflict, "none would stay");
  };
  Status first, second;
  std::thread t1([&] { first = store_->SetDisabled("ca", true, check); });
  std::thread t2([&] { second = (*other)->SetDisabled("cb", true, check); });
  t1.join();
  t2.join();
  EXPECT_NE(first.ok(), second.ok()) << first.message() << " / " << second.message();
  auto snap = store_->Load();
  ASSERT_TRUE(snap.ok());
  int enabled = 0;
  for (const Account& a : snap->accounts) enabled += (a.name == "ca" || a.name == "cb") && !a.disabled;
  EXPECT_EQ(enabled, 1);
}

// A store whose reads can be held up, as SQLite's busy timeout holds them while another
// process writes.
class GatedStore : public AccountStore {
 public:
  explicit GatedStore(AccountStore& inner) : inner_(inner) {}
  Result<AccountSnapshot> Load() override { Wait(); return inner_.Load(); }
  Result<int64_t> Version() override { Wait(); return inner_.Version(); }
  Status AddAccount(const Account& a) override { return inner_.AddAccount(a); }
  Status SetSecret(const std::string& n, const std::string& h) override { return inner_.SetSecret(n, h); }
  Status SetDisabled(const std::string& n, bool d, const Check& c) override {
    return inner_.SetDisabled(n, d, c);
  }
  Status RemoveAccount(const std::string& n, const Check& c) override {
    return inner_.RemoveAccount(n, c);
  }
  Status AddToken(const PersonalToken& t) override { return inner_.AddToken(t); }
  Status RemoveToken(const std::string& a, const std::string& i) override { return inner_.RemoveToken(a, i); }
  Status AddMember(const std::string& g, const std::string& m) override { return inner_.AddMember(g, m); }
  Status RemoveMember(const std::string& g, const std::string& m, const Check& c) override {
    return inner_.RemoveMember(g, m, c);
  }
  Result<int64_t> AddGrant(const Grant& g) override { return inner_.AddGrant(g); }
  Status RemoveGrant(int64_t id, const Check& c) override { return inner_.RemoveGrant(id, c); }
  void Close() { std::lock_guard l(mu_); open_ = false; }
  void Open() { { std::lock_guard l(mu_); open_ = true; } cv_.notify_all(); }
  bool waiting() { std::lock_guard l(mu_); return waiting_ > 0; }

 private:
  void Wait() {
    std::unique_lock l(mu_);
    ++waiting_;
    cv_.wait(l, [&] { return open_; });
    --waiting_;
  }
  AccountStore& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

TEST_P(AuthTest, AStoreHeldUpDoesNotStallTheOtherRequests) {
  ASSERT_TRUE(admin_->AddUser("lee", "lee-password", now_).ok());
  ASSERT_TRUE(admin_->AddGrant("user:lee", "l/**", "pull", now_).ok());
  GatedStore gated(*store_);
  Auth auth(gated, *keys_, AuthOptions{}, [this] { return now_; });
  Principal lee;
  lee.kind = Principal::kAccount;
  lee.name = "lee";
  ASSERT_TRUE(auth.Allowed(lee, "l/x", Permission::kPull));  // a first snapshot
  gated.Close();
  ::usleep(3000);  // past the 2 ms between looks
  std::thread looker([&] { (void)auth.Allowed(lee, "l/x", Permission::kPull); });
  while (!gated.waiting()) ::usleep(100);
  // one thread is held in the store; others decide on the snapshot they have
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(auth.Allowed(lee, "l/x", Permission::kPull));
  gated.Open();
  looker.join();
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthTest,
                         ::testing::ValuesIn(arca::testing::MetaBackends()),
                         [](const auto& info) { return info.param; });

TEST(ScopesTest, Parsing) {
  auto s = ParseScopes({"repository:a/b:pull,push", "registry:catalog:* repository:c:pull",
                        "repository(plugin):d:pull", "bad", "repository::pull",
                        "repository:host:5000/x:pull", "repository:e:"});
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], (Access{"repository", "a/b", {"pull", "push"}}));
  EXPECT_EQ(s[1], (Access{"registry", "catalog", {"*"}}));
  EXPECT_EQ(s[2], (Access{"repository", "c", {"pull"}}));
  EXPECT_EQ(s[3], (Access{"repository", "d", {"pull"}}));
  EXPECT_EQ(s[4], (Access{"repository", "host:5000/x", {"pull"}}));
}

}  // namespace
}  // namespace arca::auth
