// FindLatestValid, VerifyCheckpoint and PruneCheckpoints over real
// directories: torn checkpoints are skipped with a reason, crashes leave only
// ignorable temporary directories, pruning never drops what `latest` names.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/checkpoint/commit.h"
#include "common/checkpoint/dir_ops.h"
#include "common/checkpoint/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/checkpoint/test_files.h"
#include "tests/testing/temp_dir.h"

namespace spindle::checkpoint {
namespace {

using test::CommitFiles;
using test::List;
using test::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The newest valid checkpoint's step, or -1.
int64_t FoundStep(const std::string& root, std::vector<std::string>* skipped) {
  const absl::StatusOr<std::optional<CheckpointRef>> found = FindLatestValid(root, skipped);
  EXPECT_TRUE(found.ok()) << found.status();
  return found.ok() && found->has_value() ? (*found)->step : -1;
}

struct TornCase {
  const char* name;
  std::function<void(const std::string& dir)> damage;
  const char* reason;  // expected in the one skipped entry, after "<dir>/"
};

void PrintTo(const TornCase& c, std::ostream* os) { *os << c.name; }

std::vector<TornCase> TornCases() {
  return {
      {"TruncatedFile",
       [](const std::string& dir) { std::filesystem::resize_file(dir + "/model.bin", 1200); },
       "model.bin: size 1200 bytes, manifest says 4096: the checkpoint is torn; delete it or "
       "resume from an earlier one"},
      {"FlippedByte",
       [](const std::string& dir) {
         std::string bytes = std::string(4096, 'w');
         bytes[1000] ^= 0x01;
         WriteFile(dir + "/model.bin", bytes);
       },
       "model.bin: crc32c 0x"},
      {"DeletedManifest",
       [](const std::string& dir) { std::filesystem::remove(dir + "/MANIFEST.json"); },
       "MANIFEST.json: missing, so the checkpoint was never committed"},
      {"DeletedFile", [](const std::string& dir) { std::filesystem::remove(dir + "/optim.bin"); },
       "optim.bin: missing, manifest lists it with 10 bytes: the checkpoint is torn"},
      {"GarbageManifest",
       [](const std::string& dir) { WriteFile(dir + "/MANIFEST.json", "{\"fo"); },
       "MANIFEST.json: not JSON"},
  };
}

class TornCheckpointTest : public ::testing::TestWithParam<TornCase> {};

TEST_P(TornCheckpointTest, IsSkippedAndThePreviousOneFound) {
  testing::TempDir tmp;
  const std::string root = tmp.path();
  CommitFiles(root, 10, {{"model.bin", std::string(4096, 'v')}, {"optim.bin", "0123456789"}});
  const std::string dir =
      CommitFiles(root, 20, {{"model.bin", std::string(4096, 'w')}, {"optim.bin", "0123456789"}});
  GetParam().damage(dir);

  const absl::Status verify = VerifyCheckpoint(dir);
  EXPECT_EQ(verify.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(verify.message()), HasSubstr(dir + "/" + GetParam().reason));
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(root, &skipped), 10);
  EXPECT_THAT(skipped, ElementsAre(HasSubstr(dir + "/" + GetParam().reason)));
}

INSTANTIATE_TEST_SUITE_P(Damage, TornCheckpointTest, ::testing::ValuesIn(TornCases()),
                         [](const ::testing::TestParamInfo<TornCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(FindLatestValidTest, LatestNamingAMissingDirectoryFallsBack) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 10, {{"f", "a"}});
  CommitFiles(tmp.path(), 20, {{"f", "b"}});
  ASSERT_TRUE(RemoveTree(tmp.Join("step-00000020")).ok());
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(tmp.path(), &skipped), 10);
  EXPECT_THAT(skipped, ElementsAre(tmp.Join("latest") +
                                   ": names step-00000020, which is missing; falling back to the "
                                   "newest valid step directory"));
}

TEST(FindLatestValidTest, LatestHoldingGarbageIsReportedAndIgnored) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 10, {{"f", "a"}});
  CommitFiles(tmp.path(), 20, {{"f", "b"}});
  WriteFile(tmp.Join("latest"), "../../etc\n");
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(tmp.path(), &skipped), 20);
  EXPECT_THAT(skipped, ElementsAre(HasSubstr("latest: holds \"../../etc\", not a step-NNNNNNNN")));
}

TEST(FindLatestValidTest, WithoutLatestTheNewestStepWins) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 9, {{"f", "a"}});
  CommitFiles(tmp.path(), 100000000, {{"f", "b"}});  // 9 digits sorts by value, not text
  CommitFiles(tmp.path(), 20, {{"f", "c"}});
  std::filesystem::remove(tmp.Join("latest"));
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(tmp.path(), &skipped), 100000000);
  EXPECT_THAT(skipped, IsEmpty());
}

TEST(FindLatestValidTest, RolledBackLatestIsHonoured) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 10, {{"f", "a"}});
  CommitFiles(tmp.path(), 20, {{"f", "b"}});
  WriteFile(tmp.Join("latest"), "step-00000010\n");
  EXPECT_EQ(FoundStep(tmp.path(), nullptr), 10);
}

TEST(FindLatestValidTest, NothingValidIsNullopt) {
  testing::TempDir tmp;
  EXPECT_EQ(FoundStep(tmp.Join("missing"), nullptr), -1);
  EXPECT_EQ(FoundStep(tmp.path(), nullptr), -1);
  const std::string dir = CommitFiles(tmp.path(), 10, {{"f", "a"}});
  std::filesystem::remove(dir + "/f");
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(tmp.path(), &skipped), -1);
  EXPECT_THAT(skipped, ElementsAre(HasSubstr("/f: missing")));
}

TEST(FindLatestValidTest, RenamedDirectoryIsRejected) {
  testing::TempDir tmp;
  const std::string dir = CommitFiles(tmp.path(), 10, {{"f", "a"}});
  std::filesystem::rename(dir, tmp.Join("step-00000011"));
  const absl::Status s = VerifyCheckpoint(tmp.Join("step-00000011"));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("says step 10, but the directory is named for "
                                                  "step 11"));
  EXPECT_EQ(VerifyCheckpoint(tmp.Join("step-00000099")).code(), absl::StatusCode::kNotFound);
}

// A writer killed mid-checkpoint: the child begins step 30, writes a file and
// exits without running destructors.
TEST(CrashTest, TempDirectoryIsIgnoredThenPruned) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 20, {{"f", "a"}});
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(tmp.path(), 30);
    if (pending.ok()) WriteFile(pending->dir() + "/model.bin", std::string(100, 'x'));
    _exit(pending.ok() ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);

  const std::vector<std::string> names = List(tmp.path());
  ASSERT_EQ(names.size(), 3u);
  EXPECT_TRUE(IsTempDirName(names[0])) << names[0];
  std::vector<std::string> skipped;
  EXPECT_EQ(FoundStep(tmp.path(), &skipped), 20);
  EXPECT_THAT(skipped, IsEmpty());

  ASSERT_TRUE(PruneCheckpoints(tmp.path(), 3).ok());
  EXPECT_THAT(List(tmp.path()), ElementsAre("latest", "step-00000020"));
}

TEST(PruneTest, KeepsTheNewestAndWhatLatestNames) {
  testing::TempDir tmp;
  for (int64_t step : {10, 20, 30, 40, 50}) CommitFiles(tmp.path(), step, {{"f", "x"}});
  WriteFile(tmp.Join("latest"), "step-00000010\n");
  WriteFile(tmp.Join(".latest.tmp.0123456789abcdef"), "step-000");  // a crashed update
  WriteFile(tmp.Join("notes.txt"), "the user's");
  ASSERT_TRUE(PruneCheckpoints(tmp.path(), 2).ok());
  EXPECT_THAT(List(tmp.path()), ElementsAre("latest", "notes.txt", "step-00000010", "step-00000040",
                                            "step-00000050"));
  EXPECT_EQ(FoundStep(tmp.path(), nullptr), 10);
  ASSERT_TRUE(PruneCheckpoints(tmp.path(), 1).ok());
  EXPECT_THAT(List(tmp.path()),
              ElementsAre("latest", "notes.txt", "step-00000010", "step-00000050"));
}

TEST(PruneTest, ArgumentsAndMissingRoot) {
  testing::TempDir tmp;
  EXPECT_EQ(PruneCheckpoints(tmp.path(), 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(PruneCheckpoints(tmp.Join("missing"), 1).ok());
}

}  // namespace
}  // namespace spindle::checkpoint
