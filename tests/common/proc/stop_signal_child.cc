// A process under stop_signal_test, with the termination signals blocked from
// load on as in spindle-trainer, and a thread started before main as
// OpenBLAS starts its pool (a thread that missed the block would take SIGTERM
// and end the process). It watches them (argument "die": with
// OnStopSignal::kDie), starts a thread afterwards, says "ready", and once the
// flag is up waits 500 ms more for repeats before exiting with the signal's
// number.
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "common/proc/stop_signal.h"

SPINDLE_BLOCK_TERMINATION_SIGNALS_AT_LOAD;

namespace {
struct EarlyThread {
  EarlyThread() {
    std::thread([] {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }).detach();
  }
} early_thread;
}  // namespace

int main(int argc, char** argv) {
  using spindle::proc::StopSignal;
  const bool die = argc > 1 && std::strcmp(argv[1], "die") == 0;
  spindle::proc::WatchStopSignals(die ? spindle::proc::OnStopSignal::kDie
                                      : spindle::proc::OnStopSignal::kRaiseFlag);
  std::thread busy([] {
    while (StopSignal() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  std::cout << "ready" << std::endl;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (StopSignal() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  busy.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return StopSignal();
}
