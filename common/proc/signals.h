// Graceful shutdown for daemons: SIGTERM and SIGINT are blocked in every
// thread (call BlockTerminationSignals before starting any) and taken
// synchronously by one waiter, so shutdown runs as ordinary code, never in a
// signal handler.
#pragma once

#include <chrono>

namespace spindle::proc {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it
// starts afterwards.
void BlockTerminationSignals();

// Waits for one of them, up to timeout; returns its number, or 0 on timeout.
int WaitForTerminationSignal(std::chrono::milliseconds timeout);

}  // namespace spindle::proc
