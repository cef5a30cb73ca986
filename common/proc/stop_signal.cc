#include "common/proc/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/proc/signals.h"

namespace spindle::proc {
namespace {

std::atomic<int> first_signal{0};

// The default action of `sig` (termination) in this thread, where it is
// unblocked for the purpose.
[[noreturn]] void DieBy(int sig) {
  ::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);  // not reached: the default action of these signals ends the process
}

}  // namespace

void WatchStopSignals(OnStopSignal action) {
  static std::once_flag once;
  std::call_once(once, [action] {
    BlockTerminationSignals();  // this thread's, should main not have blocked them
    std::thread([action] {
      for (;;) {
        // Hours per wait: the loop only wakes to take a signal.
        const int sig = WaitForTerminationSignal(std::chrono::hours(1));
        if (sig == 0) continue;
        if (action == OnStopSignal::kDie) DieBy(sig);
        int none = 0;
        first_signal.compare_exchange_strong(none, sig);
      }
    }).detach();
  });
}

int StopSignal() { return first_signal.load(std::memory_order_relaxed); }

namespace internal {
void BlockAtLoad(int, char**, char**) { BlockTerminationSignals(); }
}  // namespace internal

}  // namespace spindle::proc
