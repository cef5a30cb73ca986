// logs: the JobLogs stream, written out as it arrives.
#include "coordinator/cli/client.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/verbs.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

int RunLogs(const Options& o, Io& io) {
  Client client(ClientFor(o));
  v1::JobLogsRequest request;
  request.set_job_id(o.operands[0]);
  request.set_rank(o.rank);
  request.set_attempt(o.attempt);
  request.set_follow(o.follow);
  request.set_tail_lines(o.tail);
  bool json = o.output == OutputFormat::kJson;
  int rc = kExitOk;
  absl::Status s = client.JobLogs(request, [&](const v1::LogChunk& chunk) {
    if (json) {
      if (rc == kExitOk) rc = PrintJson(chunk, io);
    } else {
      io.out << chunk.data();
    }
    io.out << std::flush;  // lines appear as the ranks write them
  });
  if (!s.ok()) return Fail(s, io);
  return rc;
}

}  // namespace spindle::cli
