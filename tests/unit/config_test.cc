#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "temp_dir.h"

namespace arca {
namespace {

TEST(ConfigTest, FileThenEnvironmentThenFlags) {
  testing::TempDir dir;
  std::string file = dir.path() + "/arca.yaml";
  std::ofstream(file) << "addr: 0.0.0.0:6000\nroot: /srv/a\nmax_connections: 50\naccess_log: false\n";
  Config c;
  ASSERT_TRUE(ApplyYamlFile(c, file).ok());
  EXPECT_EQ(c.addr, "0.0.0.0:6000");
  EXPECT_EQ(c.max_connections, 50u);
  EXPECT_FALSE(c.access_log);
  setenv("ARCA_ROOT", "/srv/b", 1);
  ASSERT_TRUE(ApplyEnvironment(c).ok());
  unsetenv("ARCA_ROOT");
  EXPECT_EQ(c.root, "/srv/b");
  ASSERT_TRUE(ApplyFlags(c, {"--root", "/srv/c", "--idle-timeout=5", "--config", "x"}).ok());
  EXPECT_EQ(c.root, "/srv/c");
  EXPECT_EQ(c.idle_timeout, 5);
}

TEST(ConfigTest, ErrorsNameTheSetting) {
  testing::TempDir dir;
  std::string file = dir.path() + "/bad.yaml";
  std::ofstream(file) << "max_connections: lots\n";
  Config c;
  Status s = ApplyYamlFile(c, file);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.detail().find("max_connections"), std::string::npos);
  EXPECT_FALSE(ApplyFlags(c, {"--no-such-thing", "1"}).ok());
  EXPECT_FALSE(ApplyFlags(c, {"--addr"}).ok());
  EXPECT_FALSE(ApplyFlags(c, {"--addr", "nocolon"}).ok());
  EXPECT_FALSE(ApplyYamlFile(c, dir.path() + "/missing.yaml").ok());
  std::ofstream(file) << "[1, 2]\n";
  EXPECT_FALSE(ApplyYamlFile(c, file).ok());
}

TEST(ConfigTest, GcDurations) {
  Config c;
  EXPECT_EQ(c.gc_retention, 7 * 86400);
  ASSERT_TRUE(SetConfigValue(c, "gc_retention", "30d").ok());
  ASSERT_TRUE(SetConfigValue(c, "gc_interval", "0").ok());
  ASSERT_TRUE(SetConfigValue(c, "gc_blob_grace", "90s").ok());
  ASSERT_TRUE(SetConfigValue(c, "gc_upload_ttl", "12h").ok());
  ASSERT_TRUE(SetConfigValue(c, "gc_referrers", "false").ok());
  EXPECT_EQ(c.gc_retention, 30 * 86400);
  EXPECT_EQ(c.gc_interval, 0);
  EXPECT_EQ(c.gc_blob_grace, 90);
  EXPECT_EQ(c.gc_upload_ttl, 12 * 3600);
  EXPECT_FALSE(c.gc_referrers);
  for (const char* bad : {"", "d", "5w", "-5m", "1.5h", "999999999999d"}) {
    Status s = SetConfigValue(c, "gc_retention", bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.detail().find("gc_retention"), std::string::npos);
  }
}

}  // namespace
}  // namespace arca
