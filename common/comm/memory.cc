#include "common/comm/memory.h"

#include <cstring>

namespace spindle::comm {
namespace {

class Host final : public Memory {
 public:
  absl::Status Copy(void* dst, const void* src, int64_t bytes) const override {
    if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
    return absl::OkStatus();
  }
  bool IsHost(const void*) const override { return true; }
  const char* name() const override { return "host"; }
};

}  // namespace

const Memory& HostMemory() {
  static const Host host;
  return host;
}

}  // namespace spindle::comm
