#include "worker/daemon/devices.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/layout/flops.h"
#include "kernels/cpu/fma_peak.h"

namespace spindle::worker {

absl::StatusOr<std::vector<v1::Device>> ParseNvidiaSmi(const std::string& csv) {
  std::vector<v1::Device> out;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    for (std::string& s : f) s = std::string(absl::StripAsciiWhitespace(s));
    int index = 0;
    double mib = 0;
    if (f.size() != 4 || !absl::SimpleAtoi(f[0], &index) || !absl::SimpleAtod(f[3], &mib)) {
      return absl::InvalidArgumentError(
          absl::StrCat("nvidia-smi: cannot read the line '", line,
                       "'; expected index, name, uuid, memory.total [MiB]"));
    }
    v1::Device d;
    d.set_index(index);
    d.set_kind("cuda");
    d.set_name(f[1]);
    d.set_uuid(f[2]);
    d.set_memory_bytes(static_cast<int64_t>(mib * 1024 * 1024));
    const layout::GpuPeak peak = layout::KnownGpuPeak(f[1]);
    d.set_peak_flops_bf16(peak.bf16);
    d.set_peak_flops_fp32(peak.fp32);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<v1::Device> DetectGpus() {
  FILE* p = popen(
      "nvidia-smi --query-gpu=index,name,uuid,memory.total --format=csv,noheader,nounits "
      "2>/dev/null",
      "r");
  if (p == nullptr) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) return {};
  absl::StatusOr<std::vector<v1::Device>> gpus = ParseNvidiaSmi(out);
  return gpus.ok() ? *gpus : std::vector<v1::Device>{};
}

int HostCores() { return std::max(1u, std::thread::hardware_concurrency()); }

std::vector<v1::Device> CpuSlots(int slots, int cores) {
  int64_t mem_total = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") mem_total = kib * 1024;
    meminfo.ignore(1 << 10, '\n');
  }
  // Slots share the cores; each slot's peak is its share of theirs.
  const double peak = kernels::MeasureFmaPeakGflops(cores) * 1e9;
  const int64_t memory = mem_total * cores / HostCores();
  std::vector<v1::Device> out;
  for (int i = 0; i < slots; ++i) {
    v1::Device d;
    d.set_index(i);
    d.set_kind("cpu");
    d.set_name(absl::StrCat("cpu slot (", kernels::FmaIsa(), ", ", cores, " cores shared by ",
                            slots, ")"));
    d.set_memory_bytes(memory / slots);
    d.set_peak_flops_fp32(peak / slots);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace spindle::worker
