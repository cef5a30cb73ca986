#include "common/comm/cuda_memory.h"

#include <cuda_runtime.h>

#include "absl/strings/str_cat.h"

namespace spindle::comm {
namespace {

class Cuda final : public Memory {
 public:
  absl::Status Copy(void* dst, const void* src, int64_t bytes) const override {
    if (bytes <= 0) return absl::OkStatus();
    const size_t n = static_cast<size_t>(bytes);
    const bool host_dst = IsHost(dst), host_src = IsHost(src);
    if (host_dst && host_src) return HostMemory().Copy(dst, src, bytes);
    // cudaMemcpyDefault: unified addressing tells the direction.
    const cudaError_t e = host_dst || host_src
                              ? cudaMemcpy(dst, src, n, cudaMemcpyDefault)
                              : cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, cudaStreamLegacy);
    if (e != cudaSuccess) {
      return absl::InternalError(absl::StrCat("CUDA copy of ", bytes,
                                              " bytes failed: ", cudaGetErrorString(e)));
    }
    return absl::OkStatus();
  }

  bool IsHost(const void* p) const override {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
      cudaGetLastError();  // an unknown pointer is plain host memory; clear the error
      return true;
    }
    return a.type == cudaMemoryTypeHost || a.type == cudaMemoryTypeUnregistered;
  }

  const char* name() const override { return "cuda"; }
};

}  // namespace

const Memory& CudaMemory() {
  static const Cuda cuda;
  return cuda;
}

}  // namespace spindle::comm
