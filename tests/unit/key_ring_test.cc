#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "auth/jwt.h"
#include "temp_dir.h"

namespace arca::auth {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kKeep = 600;
const json kClaims = {{"iss", "arca"}, {"sub", "alice"}};

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::unique_ptr<KeyRing> OpenRing(const std::string& dir) {
  auto ring = KeyRing::Open(dir, kKeep);
  EXPECT_TRUE(ring.ok()) << ring.status().detail();
  return ring.ok() ? std::move(*ring) : nullptr;
}

std::set<std::string> Kids(const KeyRing& ring) {
  std::set<std::string> kids;
  for (const auto& key : ring.Verifiers()) kids.insert(key->kid());
  return kids;
}

class KeyRingTest : public ::testing::Test {
 protected:
  arca::testing::TempDir tmp_;
  std::string dir_ = tmp_.path() + "/auth/keys";
};

TEST_F(KeyRingTest, OpenMakesAPrivateDirectoryWithAFirstKey) {
  auto ring = OpenRing(dir_);
  ASSERT_NE(ring, nullptr);
  std::string kid = ring->Signer()->kid();
  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/" + kid + ".pem"), 0600u);
  EXPECT_EQ(ModeOf(dir_ + "/current"), 0600u);
  EXPECT_EQ(ReadFile(dir_ + "/current"), kid + "\n");
  auto pem = SigningKey::FromPem(ReadFile(dir_ + "/" + kid + ".pem"));
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ((*pem)->kid(), kid);
  EXPECT_EQ(Kids(*ring), std::set<std::string>{kid});
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2);  // <kid>.pem and current, no temporaries
}

TEST_F(KeyRingTest, OpenTightensADirectoryOthersCouldRead) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0755);
  ASSERT_NE(OpenRing(dir_), nullptr);
  EXPECT_EQ(ModeOf(dir_), 0700u);
}

TEST_F(KeyRingTest, ReopeningKeepsTheKey) {
  auto first = OpenRing(dir_);
  std::string kid = first->Signer()->kid();
  std::string token = first->Signer()->Sign(kClaims);
  first.reset();
  auto second = OpenRing(dir_);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->Signer()->kid(), kid);
  EXPECT_TRUE(VerifyJws(token, second->Verifiers()).ok());
}

TEST_F(KeyRingTest, RotateMakesANewSignerAndTheOldKeyVerifiesUntilItExpires) {
  auto ring = OpenRing(dir_);
  auto old = ring->Signer();
  std::string token = old->Sign(kClaims);
  int64_t now = Now();
  auto kid = KeyRing::Rotate(dir_, now, kKeep);
  ASSERT_TRUE(kid.ok()) << kid.status().detail();
  EXPECT_NE(*kid, old->kid());
  EXPECT_EQ(ReadFile(dir_ + "/" + old->kid() + ".retired"), std::to_string(now));

  ASSERT_TRUE(ring->Refresh(now).ok());
  EXPECT_EQ(ring->Signer()->kid(), *kid);
  EXPECT_EQ(Kids(*ring), (std::set<std::string>{old->kid(), *kid}));
  EXPECT_TRUE(VerifyJws(token, ring->Verifiers()).ok());
  EXPECT_TRUE(VerifyJws(ring->Signer()->Sign(kClaims), ring->Verifiers()).ok());

  ASSERT_TRUE(ring->Refresh(now + kKeep - 1).ok());
  EXPECT_TRUE(VerifyJws(token, ring->Verifiers()).ok());

  ASSERT_TRUE(ring->Refresh(now + kKeep).ok());
  EXPECT_EQ(Kids(*ring), std::set<std::string>{*kid});
  EXPECT_FALSE(VerifyJws(token, ring->Verifiers()).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/" + old->kid() + ".pem"));
  EXPECT_FALSE(fs::exists(dir_ + "/" + old->kid() + ".retired"));
  EXPECT_EQ(ring->Signer()->kid(), *kid);
}

TEST_F(KeyRingTest, ARunningRingSeesARotationDoneElsewhereOnItsNextRefresh) {
  auto server = OpenRing(dir_);
  auto other = OpenRing(dir_);
  std::string old_kid = server->Signer()->kid();
  EXPECT_EQ(other->Signer()->kid(), old_kid);
  auto kid = KeyRing::Rotate(dir_, Now(), kKeep);
  ASSERT_TRUE(kid.ok());
  EXPECT_EQ(server->Signer()->kid(), old_kid);  // until it looks
  ASSERT_TRUE(server->Refresh(Now()).ok());
  EXPECT_EQ(server->Signer()->kid(), *kid);
  ASSERT_TRUE(other->Refresh(Now()).ok());
  EXPECT_EQ(other->Signer()->kid(), *kid);
  std::string token = server->Signer()->Sign(kClaims);
  EXPECT_TRUE(VerifyJws(token, other->Verifiers()).ok());
}

// The same, once the directory's times are old enough for Refresh to trust them and skip
// re-reading an unchanged directory.
TEST_F(KeyRingTest, RefreshNoticesARotationAfterAQuietPeriod) {
  auto server = OpenRing(dir_);
  struct timespec old_times[2] = {{Now() - 3600, 0}, {Now() - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/current").c_str(), old_times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, dir_.c_str(), old_times, 0), 0);
  ASSERT_TRUE(server->Refresh(Now()).ok());
  ASSERT_TRUE(server->Refresh(Now()).ok());
  auto kid = KeyRing::Rotate(dir_, Now(), kKeep);
  ASSERT_TRUE(kid.ok());
  ASSERT_TRUE(server->Refresh(Now()).ok());
  EXPECT_EQ(server->Signer()->kid(), *kid);
}

TEST_F(KeyRingTest, OpenDeletesKeysThatExpiredWhileNoOneWasRunning) {
  std::string old_kid = OpenRing(dir_)->Signer()->kid();
  auto kid = KeyRing::Rotate(dir_, Now() - kKeep - 5, kKeep);
  ASSERT_TRUE(kid.ok());
  ASSERT_TRUE(fs::exists(dir_ + "/" + old_kid + ".pem"));
  auto ring = OpenRing(dir_);
  EXPECT_EQ(Kids(*ring), std::set<std::string>{*kid});
  EXPECT_FALSE(fs::exists(dir_ + "/" + old_kid + ".pem"));
  EXPECT_FALSE(fs::exists(dir_ + "/" + old_kid + ".retired"));
}

TEST_F(KeyRingTest, RotateAlsoDeletesExpiredKeys) {
  auto ring = OpenRing(dir_);
  std::string first = ring->Signer()->kid();
  int64_t now = Now();
  auto second = KeyRing::Rotate(dir_, now, kKeep);
  auto third = KeyRing::Rotate(dir_, now + kKeep, kKeep);  // first expires as this runs
  ASSERT_TRUE(second.ok() && third.ok());
  EXPECT_FALSE(fs::exists(dir_ + "/" + first + ".pem"));
  EXPECT_TRUE(fs::exists(dir_ + "/" + *second + ".pem"));
  ASSERT_TRUE(ring->Refresh(now + kKeep).ok());
  EXPECT_EQ(Kids(*ring), (std::set<std::string>{*second, *third}));
  EXPECT_EQ(ring->Signer()->kid(), *third);
}

// What a crash in the middle of a rotation leaves: a temporary file, and a key written but
// never made current (so never retired). The first is removed; the second expires like a
// retired key.
TEST_F(KeyRingTest, ALoadCleansUpAfterACrashedRotation) {
  auto ring = OpenRing(dir_);
  auto stray = SigningKey::Generate();
  ASSERT_TRUE(stray.ok());
  std::string stray_kid = (*stray)->kid();
  WriteFile(dir_ + "/" + stray_kid + ".pem", (*stray)->ToPem());
  WriteFile(dir_ + "/.tmp-current", "partial");
  int64_t now = Now();
  ASSERT_TRUE(ring->Refresh(now).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/.tmp-current"));
  EXPECT_EQ(ReadFile(dir_ + "/" + stray_kid + ".retired"), std::to_string(now));
  EXPECT_EQ(Kids(*ring).count(stray_kid), 1u);
  EXPECT_NE(ring->Signer()->kid(), stray_kid);
  ASSERT_TRUE(ring->Refresh(now + kKeep).ok());
  EXPECT_EQ(Kids(*ring).count(stray_kid), 0u);
}

TEST_F(KeyRingTest, RefusesAKeyFileNamedAfterAnotherKey) {
  std::string kid = OpenRing(dir_)->Signer()->kid();
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  WriteFile(dir_ + "/" + kid + ".pem", (*other)->ToPem());
  auto ring = KeyRing::Open(dir_, kKeep);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.status().detail().find("thumbprint"), std::string::npos);
}

TEST_F(KeyRingTest, RefusesACurrentFileNamingNoKey) {
  ASSERT_NE(OpenRing(dir_), nullptr);
  WriteFile(dir_ + "/current", std::string(43, 'A') + "\n");
  EXPECT_FALSE(KeyRing::Open(dir_, kKeep).ok());
  WriteFile(dir_ + "/current", "../../etc/passwd\n");
  EXPECT_FALSE(KeyRing::Open(dir_, kKeep).ok());
}

TEST_F(KeyRingTest, SignerAndVerifiersMayBeUsedWhileRefreshRuns) {
  auto ring = OpenRing(dir_);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        std::string token = ring->Signer()->Sign(kClaims);
        if (!VerifyJws(token, ring->Verifiers()).ok()) ++failures;
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(KeyRing::Rotate(dir_, Now(), kKeep).ok());
    EXPECT_TRUE(ring->Refresh(Now()).ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Kids(*ring).size(), 11u);
}

}  // namespace
}  // namespace arca::auth
