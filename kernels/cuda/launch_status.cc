#include "kernels/cuda/launch_status.h"

#include <cuda_runtime.h>

#include "absl/strings/str_cat.h"

namespace spindle::kernels::cuda {

absl::Status LaunchStatus(int err, const char* what) {
  if (err == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, " launch: ", cudaGetErrorString(static_cast<cudaError_t>(err))));
}

}  // namespace spindle::kernels::cuda
