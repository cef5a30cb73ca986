// A rank executable for testing_test: "--mode exit" exits with code 10 + rank
// after printing its flags; "--mode sleep" sleeps until killed.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/testing/rank_flags.h"

int main(int argc, char** argv) {
  auto flags = spindle::testing::InitRank(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "%s\n", flags.status().ToString().c_str());
    return 2;
  }
  std::string mode;
  for (size_t i = 0; i + 1 < flags->rest.size(); ++i) {
    if (flags->rest[i] == "--mode") mode = flags->rest[i + 1];
  }
  std::printf("rank %d of %d store %s mode %s\n", flags->rank, flags->world, flags->store.c_str(),
              mode.c_str());
  std::fflush(stdout);
  if (mode == "sleep") {
    while (true) pause();
  }
  return 10 + flags->rank;
}
