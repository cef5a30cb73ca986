#include "common/proc/parent_watch.h"

#include <unistd.h>

#include <cstdio>
#include <thread>

namespace spindle::proc {

bool ExitWithParent(std::chrono::milliseconds poll, int exit_code) {
  const pid_t parent = getppid();
  if (parent <= 1) return false;
  std::thread([parent, poll, exit_code] {
    for (;;) {
      std::this_thread::sleep_for(poll);
      if (getppid() != parent) {
        std::fprintf(stderr, "parent process %d exited; stopping this rank\n",
                     static_cast<int>(parent));
        std::fflush(stderr);
        _exit(exit_code);
      }
    }
  }).detach();
  return true;
}

}  // namespace spindle::proc
