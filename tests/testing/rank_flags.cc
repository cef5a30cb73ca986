#include "tests/testing/rank_flags.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace spindle::testing {

absl::StatusOr<RankFlags> InitRank(int argc, char** argv) {
  const pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before prctl took effect

  RankFlags flags;
  bool has_store = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool known = arg == "--rank" || arg == "--world" || arg == "--store";
    if (!known) {
      flags.rest.push_back(arg);
      continue;
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (arg == "--store") {
      flags.store = value;
      has_store = true;
    } else if (!absl::SimpleAtoi(value, arg == "--rank" ? &flags.rank : &flags.world)) {
      return absl::InvalidArgumentError(absl::StrCat(arg, " ", value, ": not an integer"));
    }
  }
  if (flags.world < 1 || flags.rank < 0 || flags.rank >= flags.world || !has_store) {
    return absl::InvalidArgumentError(absl::StrCat("want --rank in [0, world), --world >= 1 and ",
                                                   "--store; got rank ", flags.rank, ", world ",
                                                   flags.world));
  }
  return flags;
}

}  // namespace spindle::testing
