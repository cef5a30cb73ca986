// spindle-trainer as users run it: the launcher starts real rank processes
// over Gloo; U2×R2 matches one process step for step; a rerun resumes from
// the last checkpoint and continues the same trajectory, and so does one
// after SIGTERM stopped the ranks at a checkpoint; the exported
// weights load in spindle-eval; bad data, or a cuda job with no GPU to run
// on, fails before any rank starts.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proc/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace spindle {
namespace {

using testing::TempDir;

struct RunOutput {
  proc::ExitStatus exit;
  std::string output;          // stdout and stderr of the launcher
  std::vector<double> losses;  // from --metrics, by step order
};

// Starts binary with its output to dir/name.log (and, for the trainer, rank
// 0's per-step metrics to dir/name.jsonl).
absl::StatusOr<proc::Subprocess> Start(const std::string& binary, std::vector<std::string> args,
                                       const TempDir& dir, const std::string& name,
                                       std::vector<std::string> env = {}) {
  proc::SpawnOptions o;
  o.program = binary;
  o.args = std::move(args);
  o.env = std::move(env);
  if (binary == SPINDLE_TRAINER_BIN) {
    o.args.insert(o.args.end(), {"--metrics", dir.Join(name + ".jsonl")});
  }
  o.stdout_path = dir.Join(name + ".log");
  o.stderr_to_stdout = true;
  return proc::Subprocess::Spawn(o);
}

std::vector<double> Losses(const std::string& jsonl) {
  std::vector<double> losses;
  std::ifstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    losses.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  }
  return losses;
}

RunOutput Finish(proc::Subprocess child, const TempDir& dir, const std::string& name) {
  RunOutput run;
  std::vector<proc::Subprocess> children;
  children.push_back(std::move(child));
  auto exits = proc::WaitAll(children, std::chrono::minutes(4), /*fail_fast=*/true);
  EXPECT_TRUE(exits.ok()) << exits.status();
  if (exits.ok()) run.exit = (*exits)[0];
  run.output = proc::TailFile(dir.Join(name + ".log"), 200);
  run.losses = Losses(dir.Join(name + ".jsonl"));
  return run;
}

RunOutput Launch(const std::string& binary, std::vector<std::string> args, const TempDir& dir,
                 const std::string& name, std::vector<std::string> env = {}) {
  auto child = Start(binary, std::move(args), dir, name, std::move(env));
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  return Finish(std::move(child).value(), dir, name);
}

class TrainerLocalTest : public ::testing::Test {
 protected:
  // The demo job, shortened; checkpoints and exports under the temp dir.
  std::vector<std::string> Args(int ranks, int ulysses, int ring, int steps) const {
    return {SPINDLE_DEMO_SPEC,
            "--local-ranks",
            std::to_string(ranks),
            "--set",
            "parallel.sp.ulysses=" + std::to_string(ulysses),
            "--set",
            "parallel.sp.ring=" + std::to_string(ring),
            "--set",
            "resources.nodes={min: 1, max: 1}",
            "--set",
            "resources.devices_per_node=" + std::to_string(ranks),
            "--set",
            "train.max_steps=" + std::to_string(steps),
            "--set",
            "train.schedule.warmup_steps=2",
            "--set",
            "train.log_every_steps=1",
            "--set",
            "data.seq_len=256",
            "--set",
            "data.global_batch_seqs=2",
            "--set",
            "data.micro_batch_seqs=1",
            "--set",
            "checkpoint.every.steps=3",
            "--set",
            "checkpoint.dir=" + dir_.Join("ckpt-" + std::to_string(ranks)),
            "--set",
            "checkpoint.export.dir=" + dir_.Join("export-" + std::to_string(ranks))};
  }
  TempDir dir_;
};

TEST_F(TrainerLocalTest, FourProcessesMatchOneAndResumeExactly) {
  const RunOutput one = Launch(SPINDLE_TRAINER_BIN, Args(1, 1, 1, 8), dir_, "one");
  ASSERT_TRUE(one.exit.ok()) << one.exit.Describe() << "\n" << one.output;
  ASSERT_EQ(one.losses.size(), 8u);

  const RunOutput four = Launch(SPINDLE_TRAINER_BIN, Args(4, 2, 2, 8), dir_, "four");
  ASSERT_TRUE(four.exit.ok()) << four.exit.Describe() << "\n" << four.output;
  ASSERT_EQ(four.losses.size(), 8u);
  for (size_t s = 0; s < 8; ++s) {
    EXPECT_NEAR(four.losses[s], one.losses[s], 1e-5 * one.losses[s]) << "step " << s + 1;
  }
  EXPECT_NE(four.output.find("mesh dp 1 × ulysses 2 × ring 2 (zigzag)"), std::string::npos)
      << four.output;
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("export-4/model.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("export-4/config.json")));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("ckpt-4/step-00000008/MANIFEST.json")));

  // The exported weights load in spindle-eval.
  const RunOutput eval = Launch(SPINDLE_EVAL_BIN,
                                {"--model", dir_.Join("export-4"), "--synthetic", "copy",
                                 "--seq_len", "256", "--max_seqs", "4"},
                                dir_, "eval");
  ASSERT_TRUE(eval.exit.ok()) << eval.exit.Describe() << "\n" << eval.output;
  EXPECT_NE(eval.output.find("mean next-token loss"), std::string::npos) << eval.output;
}

TEST_F(TrainerLocalTest, RerunResumesFromTheLastCheckpoint) {
  const RunOutput whole = Launch(SPINDLE_TRAINER_BIN, Args(2, 1, 2, 8), dir_, "whole");
  ASSERT_TRUE(whole.exit.ok()) << whole.exit.Describe() << "\n" << whole.output;
  // Simulate a crash after step 6: keep checkpoints up to step 6 only.
  std::filesystem::remove_all(dir_.Join("ckpt-2/step-00000008"));
  const RunOutput rest = Launch(SPINDLE_TRAINER_BIN, Args(2, 1, 2, 8), dir_, "rest");
  ASSERT_TRUE(rest.exit.ok()) << rest.exit.Describe() << "\n" << rest.output;
  EXPECT_NE(rest.output.find("resumed at step 6"), std::string::npos) << rest.output;
  ASSERT_EQ(rest.losses.size(), 2u);
  EXPECT_EQ(rest.losses[0], whole.losses[6]);
  EXPECT_EQ(rest.losses[1], whole.losses[7]);
}

// SIGTERM (what a cancel, a preemption or Ctrl-C sends) stops every rank at
// the same step boundary after committing a checkpoint there; running the
// job again resumes from it and matches an uninterrupted run exactly.
TEST_F(TrainerLocalTest, SigtermCommitsACheckpointAndTheRerunContinuesExactly) {
  // A constant rate after warmup: the trajectory does not depend on max_steps.
  auto args = [&](int steps, const std::string& ckpt) {
    std::vector<std::string> a = Args(2, 1, 2, steps);
    a.insert(a.end(),
             {"--set", "train.schedule.decay=constant", "--set", "checkpoint.every.steps=1000",
              "--set", "checkpoint.dir=" + dir_.Join(ckpt)});
    return a;
  };
  auto started = Start(SPINDLE_TRAINER_BIN, args(100000, "ckpt-stop"), dir_, "stopped");
  ASSERT_TRUE(started.ok()) << started.status();
  proc::Subprocess launcher = std::move(started).value();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (Losses(dir_.Join("stopped.jsonl")).size() < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  launcher.Signal(SIGTERM);
  const RunOutput stopped = Finish(std::move(launcher), dir_, "stopped");
  ASSERT_TRUE(stopped.exit.exited) << stopped.exit.Describe() << "\n" << stopped.output;
  ASSERT_EQ(stopped.exit.code, 4) << stopped.output;
  const size_t n = stopped.losses.size();
  ASSERT_GE(n, 2u) << stopped.output;
  const std::string checkpoint = dir_.Join(absl::StrFormat("ckpt-stop/step-%08d", n));
  EXPECT_NE(stopped.output.find(absl::StrCat(
                "stopped at step ", n, " by SIGTERM after committing checkpoint ", checkpoint)),
            std::string::npos)
      << stopped.output;
  EXPECT_TRUE(std::filesystem::exists(checkpoint + "/MANIFEST.json")) << stopped.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("export-2"))) << "a stopped job exported";

  const int total = static_cast<int>(n) + 2;
  const RunOutput rest = Launch(SPINDLE_TRAINER_BIN, args(total, "ckpt-stop"), dir_, "rest");
  ASSERT_TRUE(rest.exit.ok()) << rest.exit.Describe() << "\n" << rest.output;
  EXPECT_NE(rest.output.find(absl::StrCat("resumed at step ", n)), std::string::npos)
      << rest.output;
  const RunOutput whole = Launch(SPINDLE_TRAINER_BIN, args(total, "ckpt-whole"), dir_, "whole");
  ASSERT_TRUE(whole.exit.ok()) << whole.exit.Describe() << "\n" << whole.output;
  ASSERT_EQ(whole.losses.size(), n + 2);
  ASSERT_EQ(rest.losses.size(), 2u);
  for (size_t s = 0; s < n; ++s) EXPECT_EQ(stopped.losses[s], whole.losses[s]) << "step " << s + 1;
  EXPECT_EQ(rest.losses[0], whole.losses[n]);
  EXPECT_EQ(rest.losses[1], whole.losses[n + 1]);
}

TEST_F(TrainerLocalTest, BadDataFailsBeforeAnyRankStarts) {
  std::vector<std::string> args = Args(4, 2, 2, 4);
  const std::string missing = dir_.Join("missing.bin");
  args.insert(args.end(), {"--set", "data.source=tokens", "--set", "data.path=" + missing});
  const RunOutput run = Launch(SPINDLE_TRAINER_BIN, args, dir_, "bad");
  EXPECT_TRUE(run.exit.exited);
  EXPECT_EQ(run.exit.code, 2) << run.output;
  EXPECT_NE(run.output.find(missing), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("step "), std::string::npos) << run.output;
}

TEST_F(TrainerLocalTest, CudaJobWithoutAVisibleGpuFailsBeforeAnyRankStarts) {
  std::vector<std::string> args = Args(2, 1, 2, 4);
  args.insert(args.end(), {"--set", "resources.device=cuda", "--set", "train.precision=bf16",
                           "--set", "model.hidden_size=256", "--set", "model.num_attention_heads=4",
                           "--set", "model.intermediate_size=512"});
  // An empty CUDA_VISIBLE_DEVICES hides every GPU, so this holds on any
  // machine and build (the message then names the build or the variable).
  const RunOutput run = Launch(SPINDLE_TRAINER_BIN, args, dir_, "cuda", {"CUDA_VISIBLE_DEVICES="});
  EXPECT_TRUE(run.exit.exited);
  EXPECT_EQ(run.exit.code, 2) << run.output;
  EXPECT_NE(run.output.find("resources.device is cuda"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("set resources.device: cpu"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("step "), std::string::npos) << run.output;
}

TEST_F(TrainerLocalTest, InvalidSpecNamesTheField) {
  std::vector<std::string> args = Args(4, 2, 2, 4);
  args.insert(args.end(), {"--set", "train.optimizer.learning_rate=1"});
  const RunOutput run = Launch(SPINDLE_TRAINER_BIN, args, dir_, "invalid");
  EXPECT_EQ(run.exit.code, 2) << run.output;
  EXPECT_NE(run.output.find("train.optimizer.learning_rate"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace spindle
