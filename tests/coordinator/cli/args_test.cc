#include "coordinator/cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spindle::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Options> Parse(std::vector<std::string> args, std::string env = "") {
  return ParseArgs(args, env);
}

std::string Error(std::vector<std::string> args) {
  absl::StatusOr<Options> o = Parse(std::move(args));
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(o.status().message());
}

TEST(ArgsTest, SubmitWithEveryFlagForm) {
  absl::StatusOr<Options> o = Parse({"submit", "job.yaml", "--set", "train.max_steps=10",
                                     "--set=data.seq_len=64", "-d", "--user", "ada", "-o", "json"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->verb, "submit");
  EXPECT_THAT(o->operands, ElementsAre("job.yaml"));
  EXPECT_THAT(o->overrides, ElementsAre("train.max_steps=10", "data.seq_len=64"));
  EXPECT_TRUE(o->detach);
  EXPECT_EQ(o->user, "ada");
  EXPECT_EQ(o->output, OutputFormat::kJson);
}

TEST(ArgsTest, CoordinatorFromFlagThenEnvThenDefault) {
  EXPECT_EQ(Parse({"list"})->coordinator, "127.0.0.1:7070");
  EXPECT_EQ(Parse({"list"}, "head:7070")->coordinator, "head:7070");
  EXPECT_EQ(Parse({"list", "--coordinator", "x:1"}, "head:7070")->coordinator, "x:1");
  // Global flags also go before the verb.
  EXPECT_EQ(Parse({"--coordinator=y:2", "-ojson", "list"})->coordinator, "y:2");
  EXPECT_EQ(Parse({"--coordinator=y:2", "-ojson", "list"})->output, OutputFormat::kJson);
}

TEST(ArgsTest, LogsFlags) {
  absl::StatusOr<Options> o =
      Parse({"logs", "demo-3", "--rank", "2", "--attempt=1", "-f", "--tail", "50"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->rank, 2);
  EXPECT_EQ(o->attempt, 1);
  EXPECT_TRUE(o->follow);
  EXPECT_EQ(o->tail, 50);
  EXPECT_EQ(Parse({"logs", "demo-3"})->rank, -1);
}

TEST(ArgsTest, ListStatesAndLimit) {
  absl::StatusOr<Options> o =
      Parse({"list", "--state", "running", "--state=FAILED,cancelled", "--limit", "5"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->states,
              ElementsAre(spindle::v1::RUNNING, spindle::v1::FAILED, spindle::v1::CANCELLED));
  EXPECT_EQ(o->limit, 5);
  EXPECT_THAT(Error({"list", "--state", "runing"}), HasSubstr("--state runing: not a job state"));
}

TEST(ArgsTest, WaitTimeoutIsADuration) {
  EXPECT_EQ(Parse({"wait", "j", "--timeout", "10m"})->timeout, std::chrono::minutes(10));
  EXPECT_EQ(Parse({"wait", "j", "--timeout", "90s"})->timeout, std::chrono::seconds(90));
  EXPECT_THAT(Error({"wait", "j", "--timeout", "soon"}), HasSubstr("--timeout soon"));
}

TEST(ArgsTest, HelpForms) {
  absl::StatusOr<Options> o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_EQ(o->verb, "");
  o = Parse({"submit", "-h"});  // no SPEC needed for help
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->help);
  EXPECT_EQ(o->verb, "submit");
  o = Parse({"help", "logs"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->help);
  EXPECT_EQ(o->verb, "logs");
  EXPECT_THAT(VerbUsage("logs"), HasSubstr("--follow"));
  EXPECT_THAT(VerbUsage("logs"), HasSubstr("--coordinator"));
  EXPECT_EQ(VerbUsage("nope"), "");
  EXPECT_THAT(Usage(), HasSubstr("workers"));
  EXPECT_THAT(Usage(), HasSubstr("exit codes"));
}

TEST(ArgsTest, UnknownVerbSuggests) {
  EXPECT_THAT(Error({"sumbit", "x.yaml"}),
              HasSubstr("unknown verb 'sumbit'; did you mean submit?"));
  EXPECT_THAT(Error({"frobnicate"}), HasSubstr("unknown verb 'frobnicate'"));
  EXPECT_THAT(Error({"help", "stauts"}), HasSubstr("did you mean status?"));
}

TEST(ArgsTest, UnknownFlagSuggests) {
  std::string e = Error({"submit", "x.yaml", "--detatch"});
  EXPECT_THAT(e, HasSubstr("spindle submit: unknown flag --detatch; did you mean --detach?"));
  EXPECT_THAT(e, HasSubstr("spindle submit --help"));
  // A real flag of another verb says whose it is.
  EXPECT_THAT(Error({"status", "j", "--follow"}),
              HasSubstr("--follow is a flag of `spindle logs` only"));
  EXPECT_THAT(Error({"list", "--set", "a=b"}), HasSubstr("`spindle validate`, `spindle plan`"));
}

TEST(ArgsTest, OperandCountAndValues) {
  EXPECT_THAT(Error({"validate"}), HasSubstr("missing SPEC"));
  EXPECT_THAT(Error({"status"}), HasSubstr("missing JOB"));
  EXPECT_THAT(Error({"status", "a", "b"}), HasSubstr("unexpected argument 'b'"));
  EXPECT_THAT(Error({"workers", "extra"}), HasSubstr("unexpected argument 'extra'"));
  EXPECT_THAT(Error({"logs", "j", "--tail"}), HasSubstr("--tail needs a value"));
  EXPECT_THAT(Error({"logs", "j", "--tail", "-3"}), HasSubstr("expected a whole number >= 1"));
  EXPECT_THAT(Error({"list", "--limit", "ten"}), HasSubstr("--limit ten"));
  EXPECT_THAT(Error({"validate", "x.yaml", "--set", "nokey"}), HasSubstr("expected FIELD=VALUE"));
  EXPECT_THAT(Error({"validate", "x.yaml", "-o", "yaml"}), HasSubstr("use text or json"));
  EXPECT_THAT(Error({"submit", "x.yaml", "--detach=yes"}), HasSubstr("takes no value"));
}

TEST(ArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<Options> o = Parse({"status", "--", "-odd-id"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->operands, ElementsAre("-odd-id"));
}

TEST(ArgsTest, DidYouMean) {
  std::vector<std::string> words = {"--detach", "--user", "--set"};
  EXPECT_EQ(DidYouMean("--detatch", words), "--detach");
  EXPECT_EQ(DidYouMean("--usr", words), "--user");
  EXPECT_EQ(DidYouMean("--completely-else", words), "");
}

}  // namespace
}  // namespace spindle::cli
