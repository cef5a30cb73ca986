#include "worker/train/step_end.h"

#include "common/status.h"

namespace spindle::train {

absl::StatusOr<StepEnd> AgreeOnStepEnd(comm::Communicator& world,
                                       const config::CheckpointSpec& ckpt, int64_t step, bool last,
                                       std::chrono::steady_clock::duration since_checkpoint,
                                       int stop_signal) {
  StepEnd end;
  if (ckpt.dir.empty()) return end;
  int64_t flags[2] = {last || (ckpt.every.steps > 0 && step % ckpt.every.steps == 0) ||
                          (ckpt.every.time.count() > 0 && since_checkpoint >= ckpt.every.time),
                      last ? 0 : stop_signal};
  SPINDLE_RETURN_IF_ERROR(world.AllReduce(flags, 2, comm::DType::kInt64, comm::ReduceOp::kMax));
  end.stop = static_cast<int>(flags[1]);
  end.checkpoint = flags[0] != 0 || end.stop != 0;
  return end;
}

}  // namespace spindle::train
