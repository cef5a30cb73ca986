// Shared pieces of spindle-bench: timing, the libtorch/OpenBLAS thread
// settings, machine facts, and markdown tables.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::bench {

// Median seconds of `timed` runs of fn after `warmup` untimed ones.
double MedianSeconds(const std::function<void()>& fn, int warmup, int timed);

// Who runs libtorch's CPU work: its intra-op pool or OpenBLAS's. Never both
// above 1 (they would oversubscribe the cores).
struct TorchThreads {
  int torch = 1;              // at::set_num_threads
  int blas = 1;               // openblas_set_num_threads (ignored without OpenBLAS)
  std::string Label() const;  // e.g. "torch 1 / blas 2"
};
void ApplyTorchThreads(const TorchThreads& t);
// The two settings worth trying on `cores` cores: all to BLAS, all to torch.
std::vector<TorchThreads> CandidateSettings(int cores);

// Cores this process may run on (sched affinity), at least 1.
int UsableCores();
// OpenBLAS's build description, or "" when libblas.so.3 is not OpenBLAS.
std::string BlasConfig();
std::string CpuModel();  // /proc/cpuinfo "model name"

// A markdown table built row by row, printed with aligned columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Fixed(double value, int digits);  // "12.3"

// Runs this executable with `args` as a child process (so a case's memory,
// threads and device state are its own) and returns what follows "result "
// on the last such line of its output. Errors carry the child's last lines.
absl::StatusOr<std::string> RunSelfCase(const std::vector<std::string>& args,
                                        std::chrono::minutes timeout);

}  // namespace spindle::bench
