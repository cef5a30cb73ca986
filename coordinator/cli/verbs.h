// The verbs of `spindle`, one function each, all with the same shape: parsed
// options in, text on io.out/io.err, exit code (exit_codes.h) back. main
// picks one by name. Verbs that need the coordinator make their own Client.
#pragma once

#include <ostream>

#include "absl/time/time.h"
#include "coordinator/cli/args.h"
#include "coordinator/cli/client.h"

namespace spindle::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
  bool out_is_tty = false;  // progress redrawn in place
  absl::TimeZone tz;        // for timestamps
};

int RunValidate(const Options& o, Io& io);  // local
int RunPlan(const Options& o, Io& io);      // local with --cluster
int RunSubmit(const Options& o, Io& io);
int RunStatus(const Options& o, Io& io);
int RunList(const Options& o, Io& io);
int RunWatch(const Options& o, Io& io);
int RunEvents(const Options& o, Io& io);
int RunWait(const Options& o, Io& io);
int RunLogs(const Options& o, Io& io);
int RunCancel(const Options& o, Io& io);
int RunWorkers(const Options& o, Io& io);

// Writes the message as JSON (render.h MessageJson) and a newline; kExitOk,
// or kExitError when it cannot be written.
int PrintJson(const google::protobuf::Message& message, Io& io);
// Writes status's message to io.err; returns ExitCodeForStatus(status).
int Fail(const absl::Status& status, Io& io);
// The coordinator address and security files the options name.
ClientOptions ClientFor(const Options& o);

}  // namespace spindle::cli
