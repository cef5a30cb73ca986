// Daemon configuration files and the daemons' command lines
// (common/config/daemon_file.h).
#include "common/config/daemon_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace spindle::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kKnown = {"listen", "state_dir", "worker_lease", "cpu_slots"};

std::string Write(const spindle::testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.Join("daemon.yaml");
  std::ofstream(path) << text;
  return path;
}

absl::StatusOr<std::vector<std::string>> Expand(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ExpandConfigFlag(static_cast<int>(argv.size()), argv.data(), kKnown);
}

TEST(DaemonFileTest, SettingsBecomeFlagsBeforeTheCommandLine) {
  spindle::testing::TempDir dir;
  const std::string path =
      Write(dir, "listen: 0.0.0.0:7070\nstate_dir: /var/lib/spindle\nworker-lease: 15s\n");
  absl::StatusOr<std::vector<std::string>> args =
      Expand({"daemon", "--listen=127.0.0.1:1", "--config", path, "--cpu-slots", "2"});
  ASSERT_TRUE(args.ok()) << args.status();
  // absl keeps the last value of a flag: the command line wins over the file.
  EXPECT_THAT(*args, ElementsAre("daemon", "--listen=0.0.0.0:7070", "--state_dir=/var/lib/spindle",
                                 "--worker_lease=15s", "--listen=127.0.0.1:1", "--cpu_slots",
                                 "2"));
}

TEST(DaemonFileTest, DashesInFlagNamesNotInValues) {
  absl::StatusOr<std::vector<std::string>> args =
      Expand({"daemon", "--state-dir=/a-b", "--cpu-slots", "-1", "--", "--x-y"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(*args,
              ElementsAre("daemon", "--state_dir=/a-b", "--cpu_slots", "-1", "--", "--x-y"));
}

TEST(DaemonFileTest, UnknownSettingNamesTheLineAndTheNearestName) {
  spindle::testing::TempDir dir;
  const std::string path = Write(dir, "listen: :7070\nstate_dri: /tmp\nlisten2: [1, 2]\n");
  absl::StatusOr<std::vector<std::string>> args = Expand({"daemon", "--config=" + path});
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(),
              HasSubstr(path + ":2:1: state_dri: unknown setting; did you mean state_dir?"));
}

TEST(DaemonFileTest, ValuesMustBeScalarsAndTheFileMustExist) {
  spindle::testing::TempDir dir;
  const std::string path = Write(dir, "listen: [1, 2]\n");
  absl::StatusOr<std::vector<std::string>> args = Expand({"daemon", "--config", path});
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr(path + ":1:1: listen: expected a single value"));

  args = Expand({"daemon", "--config", dir.Join("missing.yaml")});
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr("cannot read config file"));
  EXPECT_THAT(args.status().message(), HasSubstr("missing.yaml"));

  args = Expand({"daemon", "--config"});
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr("--config needs a file"));
}

}  // namespace
}  // namespace spindle::config
