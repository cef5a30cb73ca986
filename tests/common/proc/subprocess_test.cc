// Spawned children's environment: entries the caller adds reach the child and
// replace inherited ones of the same name (a worker daemon started with
// CUDA_VISIBLE_DEVICES set must still give each rank only its own GPU).
#include "common/proc/subprocess.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace spindle::proc {
namespace {

// The child's environment exactly as exec gave it (env(1) prints environ
// without the deduplication a shell would apply).
std::vector<std::string> ChildEnvironment(std::vector<std::string> env) {
  testing::TempDir dir;
  SpawnOptions o;
  o.program = "/usr/bin/env";
  o.env = std::move(env);
  o.stdout_path = dir.Join("out");
  auto child = Subprocess::Spawn(o);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  std::vector<Subprocess> children;
  children.push_back(std::move(*child));
  auto exits = WaitAll(children, std::chrono::seconds(30), /*fail_fast=*/true);
  EXPECT_TRUE(exits.ok()) << exits.status();
  std::vector<std::string> test_vars;
  std::ifstream in(o.stdout_path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("SPINDLE_TEST_", 0) == 0) test_vars.push_back(line);
  }
  std::sort(test_vars.begin(), test_vars.end());
  return test_vars;
}

TEST(SubprocessTest, AddedEnvironmentReplacesInheritedNames) {
  ::setenv("SPINDLE_TEST_DEVICE", "0,1,2,3", 1);
  ::setenv("SPINDLE_TEST_KEPT", "kept", 1);
  EXPECT_EQ(ChildEnvironment({"SPINDLE_TEST_DEVICE=2", "SPINDLE_TEST_NEW=new"}),
            (std::vector<std::string>{"SPINDLE_TEST_DEVICE=2", "SPINDLE_TEST_KEPT=kept",
                                      "SPINDLE_TEST_NEW=new"}));
  ::unsetenv("SPINDLE_TEST_DEVICE");
  ::unsetenv("SPINDLE_TEST_KEPT");
}

}  // namespace
}  // namespace spindle::proc
