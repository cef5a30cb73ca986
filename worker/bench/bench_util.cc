#include "worker/bench/bench_util.h"

#include <sched.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proc/subprocess.h"

// Present only when OpenBLAS provides libblas.so.3 (Debian's alternatives).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" char* openblas_get_config() __attribute__((weak));

namespace spindle::bench {

double MedianSeconds(const std::function<void()>& fn, int warmup, int timed) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < timed; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::string TorchThreads::Label() const {
  return "torch " + std::to_string(torch) + " / blas " + std::to_string(blas);
}

void ApplyTorchThreads(const TorchThreads& t) {
  at::set_num_threads(t.torch);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(t.blas);
}

std::vector<TorchThreads> CandidateSettings(int cores) {
  if (cores == 1) return {TorchThreads{1, 1}};
  return {TorchThreads{1, cores}, TorchThreads{cores, 1}};
}

int UsableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

std::string BlasConfig() {
  if (openblas_get_config == nullptr) return "";
  const char* config = openblas_get_config();
  return config != nullptr ? config : "";
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(header_.size(), 3);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = std::max(width[c], header_[c].size());
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    out << "|";
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      out << " " << cell << std::string(width[c] - cell.size(), ' ') << " |";
    }
    out << "\n";
  };
  line(header_);
  out << "|";
  for (size_t w : width) out << " " << std::string(w, '-') << " |";
  out << "\n";
  for (const auto& row : rows_) line(row);
}

std::string Fixed(double value, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << value;
  return s.str();
}

absl::StatusOr<std::string> RunSelfCase(const std::vector<std::string>& args,
                                        std::chrono::minutes timeout) {
  static int counter = 0;
  const std::string log =
      absl::StrCat("/tmp/spindle-bench-case-", getpid(), "-", counter++, ".log");
  proc::SpawnOptions so;
  so.program = proc::SelfExecutable();
  so.args = args;
  so.stdout_path = log;
  so.stderr_to_stdout = true;
  absl::StatusOr<proc::Subprocess> child = proc::Subprocess::Spawn(so);
  if (!child.ok()) return child.status();
  std::vector<proc::Subprocess> children;
  children.push_back(std::move(*child));
  auto exits = proc::WaitAll(children, timeout, /*fail_fast=*/true);
  const std::string text = proc::TailFile(log, 50);
  std::remove(log.c_str());
  const size_t at = text.rfind("result ");
  if (!exits.ok() || !(*exits)[0].ok() || at == std::string::npos) {
    return absl::InternalError(absl::StrCat(
        "case ", absl::StrJoin(args, " "), " failed",
        exits.ok() ? "" : absl::StrCat(" (", exits.status().message(), ")"), ":\n", text));
  }
  return text.substr(at + 7);
}

}  // namespace spindle::bench
