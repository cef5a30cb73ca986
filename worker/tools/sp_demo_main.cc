// spindle-sp-demo: runs sequence-parallel attention across local processes
// over Gloo for every algorithm and prints, per algorithm, the max error
// against one-device float64 attention (output and gradients), the bytes each
// rank sent against the formula, and the time.
//
//   spindle-sp-demo [--ranks 4] [--seq_len 2050] [--heads 8] [--kv_heads 2] ...
//
// Without --rank it is the launcher: it starts --ranks copies of itself per
// algorithm (plus one single-process baseline), waits for them with a
// deadline, and prints the table. With --rank it is one rank.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/comm/gloo_communicator.h"
#include "common/layout/mesh.h"
#include "common/proc/subprocess.h"
#include "worker/runtime/threads.h"
#include "worker/sp/self_check.h"

ABSL_FLAG(int, ranks, 4, "sequence-parallel processes per algorithm");
ABSL_FLAG(int64_t, seq_len, 2050, "global sequence length (not a multiple of 2P: shows padding)");
ABSL_FLAG(int, heads, 8, "query heads");
ABSL_FLAG(int, kv_heads, 2, "key/value heads (GQA 4:1 by default)");
ABSL_FLAG(int, head_dim, 64, "head dimension");
ABSL_FLAG(int64_t, batch, 1, "sequences per rank");
ABSL_FLAG(bool, causal, true, "causal mask");
ABSL_FLAG(int, iterations, 3, "timed forward+backward iterations after the checked one");
ABSL_FLAG(int, timeout_s, 120, "per-collective timeout and per-run deadline, seconds");
ABSL_FLAG(double, tolerance, 1e-5, "max abs error allowed against float64");
ABSL_FLAG(std::string, only, "", "run only the algorithm rows whose name contains this");
// Rank mode (set by the launcher).
ABSL_FLAG(int, rank, -1, "world rank; unset means launcher mode");
ABSL_FLAG(int, world, 0, "world size; when set it must equal ulysses × ring");
ABSL_FLAG(int, ulysses, 1, "Ulysses degree U");
ABSL_FLAG(int, ring, 1, "ring degree R");
ABSL_FLAG(std::string, layout, "zigzag", "contiguous | zigzag | striped");
ABSL_FLAG(std::string, schedule, "ring", "ring | lightseq (causal, contiguous, even ring degree)");
ABSL_FLAG(std::string, store, "", "rendezvous directory shared by the ranks");
ABSL_FLAG(std::string, result, "", "file rank 0 writes its result line to");

namespace spindle {
namespace {

struct Row {
  std::string name;
  int ulysses, ring;
  layout::LayoutKind layout;
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
};

sp::SelfCheckConfig ConfigFromFlags(int ulysses, int ring, layout::LayoutKind kind,
                                    layout::RingSchedule schedule) {
  sp::SelfCheckConfig c;
  c.schedule = schedule;
  c.ulysses = ulysses;
  c.ring = ring;
  c.layout = kind;
  c.batch = absl::GetFlag(FLAGS_batch);
  c.seq_len = absl::GetFlag(FLAGS_seq_len);
  c.heads = absl::GetFlag(FLAGS_heads);
  c.kv_heads = absl::GetFlag(FLAGS_kv_heads);
  c.head_dim = absl::GetFlag(FLAGS_head_dim);
  c.causal = absl::GetFlag(FLAGS_causal);
  c.timed_iterations = absl::GetFlag(FLAGS_iterations);
  return c;
}

int RunRank() {
  const int rank = absl::GetFlag(FLAGS_rank);
  const int world = absl::GetFlag(FLAGS_ulysses) * absl::GetFlag(FLAGS_ring);
  if (absl::GetFlag(FLAGS_world) != 0 && absl::GetFlag(FLAGS_world) != world) {
    std::cerr << "--world=" << absl::GetFlag(FLAGS_world) << " but --ulysses × --ring = " << world
              << "; pass degrees whose product is the world size\n";
    return 2;
  }
  auto kind = layout::ParseLayout(absl::GetFlag(FLAGS_layout));
  if (!kind.ok()) {
    std::cerr << "--layout: " << kind.status().message() << "\n";
    return 2;
  }
  auto schedule = layout::ParseSchedule(absl::GetFlag(FLAGS_schedule));
  if (!schedule.ok()) {
    std::cerr << "--schedule: " << schedule.status().message() << "\n";
    return 2;
  }
  const sp::SelfCheckConfig c =
      ConfigFromFlags(absl::GetFlag(FLAGS_ulysses), absl::GetFlag(FLAGS_ring), *kind, *schedule);
  const auto pool = runtime::ApplyThreads(runtime::PlanThreads(0, world));
  const auto timeout = std::chrono::seconds(absl::GetFlag(FLAGS_timeout_s));
  auto store = comm::MakeFileStore(absl::GetFlag(FLAGS_store));
  if (!store.ok()) {
    std::cerr << "--store: " << store.status().message() << "\n";
    return 2;
  }
  auto groups = sp::BuildProcessGroups(*layout::MakeMesh(world, 1, c.ulysses, c.ring), rank,
                                       timeout, sp::GlooGroupFactory(**store, rank));
  if (!groups.ok()) {
    std::cerr << "rank " << rank << ": " << groups.status().message() << "\n";
    return 1;
  }
  std::cerr << "rank " << rank << ": groups formed" << std::endl;
  const sp::Reference ref = sp::ComputeReference(c);
  auto result = sp::RunSelfCheck(c, ref, *groups, pool);
  if (!result.ok()) {
    std::cerr << "rank " << rank << ": " << result.status().message() << "\n";
    return 1;
  }
  if (rank == 0 && !absl::GetFlag(FLAGS_result).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_result))
        << sp::SelfCheckSummary::Of(*result).ToLine() << "\n";
  }
  return 0;
}

int RunLauncher() {
  const int p = absl::GetFlag(FLAGS_ranks);
  const double tolerance = absl::GetFlag(FLAGS_tolerance);
  std::vector<Row> rows = {{"local (1 process)", 1, 1, layout::LayoutKind::kContiguous}};
  if (p > 1) {
    rows.push_back({"ulysses", p, 1, layout::LayoutKind::kContiguous});
    rows.push_back({"ring", 1, p, layout::LayoutKind::kContiguous});
    rows.push_back({"ring", 1, p, layout::LayoutKind::kZigzag});
    rows.push_back({"ring", 1, p, layout::LayoutKind::kStriped});
    for (int u = 2; u < p; ++u) {
      if (p % u == 0) rows.push_back({"usp", u, p / u, layout::LayoutKind::kZigzag});
    }
    if (p % 2 == 0 && absl::GetFlag(FLAGS_causal)) {
      rows.push_back(
          {"lightseq", 1, p, layout::LayoutKind::kContiguous, layout::RingSchedule::kLightSeq});
    }
  }
  const sp::SelfCheckConfig shown =
      ConfigFromFlags(1, 1, layout::LayoutKind::kContiguous, layout::RingSchedule::kRing);
  std::cout << absl::StrFormat(
      "Sequence-parallel attention over Gloo, %d local processes per algorithm\n"
      "b=%d S=%d h=%d h_kv=%d d=%d %s, fp32 vs one-device float64 (tolerance %g)\n\n",
      p, shown.batch, shown.seq_len, shown.heads, shown.kv_heads, shown.head_dim,
      shown.causal ? "causal" : "full", tolerance);
  std::cout << absl::StrFormat("%-18s %-10s %-5s %9s %9s %9s %9s %12s %12s %6s %8s %8s\n",
                               "algorithm", "layout", "U×R", "|Δo|", "|Δdq|", "|Δdk|", "|Δdv|",
                               "sent/rank B", "formula B", "ΔB", "fwd ms", "bwd ms");
  bool all_ok = true;
  for (const Row& row : rows) {
    if (!absl::GetFlag(FLAGS_only).empty() &&
        row.name.find(absl::GetFlag(FLAGS_only)) == std::string::npos) {
      continue;
    }
    const int world = row.ulysses * row.ring;
    const std::string dir = std::filesystem::temp_directory_path() /
                            absl::StrCat("spindle-sp-demo-", getpid(), "-", row.name.substr(0, 4),
                                         row.ulysses, "x", row.ring, "-", LayoutName(row.layout));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<proc::Subprocess> children;
    for (int r = 0; r < world; ++r) {
      proc::SpawnOptions o;
      o.program = proc::SelfExecutable();
      o.args = {absl::StrCat("--rank=", r),
                absl::StrCat("--ulysses=", row.ulysses),
                absl::StrCat("--ring=", row.ring),
                absl::StrCat("--layout=", LayoutName(row.layout)),
                absl::StrCat("--schedule=", layout::ScheduleName(row.schedule)),
                absl::StrCat("--store=", dir),
                absl::StrCat("--result=", dir, "/result"),
                absl::StrCat("--seq_len=", shown.seq_len),
                absl::StrCat("--heads=", shown.heads),
                absl::StrCat("--kv_heads=", shown.kv_heads),
                absl::StrCat("--head_dim=", shown.head_dim),
                absl::StrCat("--batch=", shown.batch),
                absl::StrCat("--causal=", shown.causal ? "true" : "false"),
                absl::StrCat("--iterations=", shown.timed_iterations),
                absl::StrCat("--timeout_s=", absl::GetFlag(FLAGS_timeout_s))};
      o.stderr_path = absl::StrCat(dir, "/rank", r, ".log");
      auto child = proc::Subprocess::Spawn(o);
      if (!child.ok()) {
        std::cerr << child.status().message() << "\n";
        return 1;
      }
      children.push_back(std::move(*child));
    }
    auto statuses = proc::WaitAll(children, std::chrono::seconds(absl::GetFlag(FLAGS_timeout_s)),
                                  /*fail_fast=*/true);
    bool ran = statuses.ok();
    for (int r = 0; ran && r < world; ++r) ran = (*statuses)[r].ok();
    if (!ran) {
      std::cout << absl::StrFormat("%-18s %-10s %dx%d  FAILED: %s\n", row.name,
                                   LayoutName(row.layout), row.ulysses, row.ring,
                                   statuses.ok() ? "a rank failed" : statuses.status().message());
      for (int r = 0; r < world; ++r) {
        const std::string status = statuses.ok() ? (*statuses)[r].Describe() : "see log";
        std::cout << "  rank " << r << " (" << status
                  << "): " << proc::TailFile(absl::StrCat(dir, "/rank", r, ".log"), 5) << "\n";
      }
      all_ok = false;
      continue;
    }
    std::ifstream in(dir + "/result");
    std::string line;
    std::getline(in, line);
    auto summary = sp::SelfCheckSummary::FromLine(line);
    if (!summary.ok()) {
      std::cout << row.name << ": " << summary.status().message() << "\n";
      all_ok = false;
      continue;
    }
    const sp::SelfCheckSummary& r = *summary;
    const bool ok = r.Passes(tolerance);
    all_ok = all_ok && ok;
    std::cout << absl::StrFormat(
        "%-18s %-10s %dx%-3d %9.1e %9.1e %9.1e %9.1e %12d %12d %6d %8.1f %8.1f%s\n", row.name,
        LayoutName(row.layout), row.ulysses, row.ring, r.err_o, r.err_dq, r.err_dk, r.err_dv,
        r.bytes_sent, r.formula_bytes, r.traffic_diff, r.forward_seconds * 1e3,
        r.backward_seconds * 1e3, ok ? "" : "  FAIL");
    std::filesystem::remove_all(dir);
  }
  std::cout << "\n"
            << (all_ok ? "All algorithms match one-device attention and the traffic formulas."
                       : "Some algorithms FAILED (see above).")
            << "\n";
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace spindle

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return absl::GetFlag(FLAGS_rank) >= 0 ? spindle::RunRank() : spindle::RunLauncher();
}
