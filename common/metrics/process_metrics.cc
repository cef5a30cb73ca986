#include "common/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace spindle::metrics {
namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces):
// index 0 is field 3 (state) of proc(5).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = line.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

void AddProcessMetrics(Families* f) {
  const std::vector<std::string> s = StatFields();
  if (s.size() < 22) return;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto num = [&](size_t proc5_field) {
    double v = 0;
    (void)absl::SimpleAtod(s[proc5_field - 3], &v);
    return v;
  };
  f->Counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.")
      .Add({}, (num(14) + num(15)) / ticks);
  f->Gauge("process_resident_memory_bytes", "Resident memory size in bytes.").Add({}, num(24) * page);
  f->Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").Add({}, num(23));
  f->Gauge("process_threads", "Threads in the process.").Add({}, num(20));
  f->Gauge("process_start_time_seconds", "Start time since the unix epoch, in seconds.")
      .Add({}, BootTimeSeconds() + num(22) / ticks);
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  f->Gauge("process_open_fds", "Open file descriptors.").Add({}, fds);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    f->Gauge("process_max_fds", "Maximum open file descriptors.")
        .Add({}, static_cast<double>(lim.rlim_cur));
  }
}

bool ReadProcessMemory(int pid, double* rss_bytes, double* peak_rss_bytes) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return false;
  bool rss = false;
  for (std::string line; std::getline(in, line);) {
    double kib = 0;
    auto value = [&](const char* key) {
      return line.rfind(key, 0) == 0 &&
             absl::SimpleAtod(absl::StripSuffix(absl::StripAsciiWhitespace(
                                                    absl::string_view(line).substr(strlen(key))),
                                                " kB"),
                              &kib);
    };
    if (value("VmRSS:")) {
      *rss_bytes = kib * 1024;
      rss = true;
    } else if (value("VmHWM:")) {
      *peak_rss_bytes = kib * 1024;
    }
  }
  return rss;
}

}  // namespace spindle::metrics
