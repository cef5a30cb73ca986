#include "kernels/cuda/layout_copy.h"

#include "kernels/cuda/copy_kernels.h"
#include "kernels/cuda/launch_status.h"

namespace spindle::kernels::cuda {
namespace {

absl::Status Launch(const absl::StatusOr<Copy3dArgs>& args, void* stream) {
  if (!args.ok()) return args.status();
  return Copy3d(*args, stream);
}

}  // namespace

absl::Status Copy3d(const Copy3dArgs& args, void* stream) {
  return LaunchStatus(LaunchCopy3d(args, stream), "layout copy");
}

absl::Status UlyssesPackHeads(const UlyssesShape& u, BshdView<const void> in, void* send,
                              void* stream) {
  return Launch(UlyssesPackHeadsArgs(u, in, send), stream);
}

absl::Status UlyssesUnpackTokens(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                 void* stream) {
  return Launch(UlyssesUnpackTokensArgs(u, recv, out), stream);
}

absl::Status UlyssesPackTokens(const UlyssesShape& u, BshdView<const void> in, void* send,
                               void* stream) {
  return Launch(UlyssesPackTokensArgs(u, in, send), stream);
}

absl::Status UlyssesUnpackHeads(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                void* stream) {
  return Launch(UlyssesUnpackHeadsArgs(u, recv, out), stream);
}

absl::Status GatherRows(const GatherShape& g, BshdView<const void> in, const int64_t* index,
                        BshdView<void> out, void* stream) {
  const absl::StatusOr<GatherRowsArgs> args = GatherRowsArgsOf(g, in, index, out);
  if (!args.ok()) return args.status();
  return LaunchStatus(LaunchGatherRows(*args, stream), "gather rows");
}

}  // namespace spindle::kernels::cuda
