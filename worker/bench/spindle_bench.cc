// spindle-bench: one command that prints the CPU benchmark suite as markdown
// (performance.md §6), to stdout and optionally to a file.
//
//   spindle-bench [--section kernels|comm|train|all] [--out FILE] [--allow-slow-blas]
//                 [--quick] [--threads N]
//
// Each section is a function printing markdown to one stream and returning
// an exit code; main prints the machine facts first and tees the stream.
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/isa.h"
#include "worker/bench/bench_util.h"
#include "worker/bench/comm_bench.h"
#include "worker/bench/kernel_bench.h"
#include "worker/bench/train_bench.h"

namespace spindle::bench {
namespace {

struct Options {
  std::string section = "all";
  std::string out_path;
  bool allow_slow_blas = false;
  bool quick = false;
  int threads = 0;  // 0: every usable core
};

struct Section {
  const char* name;
  std::function<int(const Options&, std::ostream&)> run;
};

// To add a section, append it here; `--section all` runs them in order.
std::vector<Section> Sections() {
  return {
      {"kernels",
       [](const Options& o, std::ostream& out) {
         return RunKernelBench({o.threads, o.allow_slow_blas, o.quick}, out);
       }},
      {"comm", [](const Options&, std::ostream& out) { return RunCommBench(out); }},
      {"train",
       [](const Options& o, std::ostream& out) {
         return RunTrainBench({o.quick, o.threads}, out);
       }},
  };
}

// Writes everything to two streams (stdout and the --out file).
class TeeBuf : public std::streambuf {
 public:
  TeeBuf(std::streambuf* a, std::streambuf* b) : a_(a), b_(b) {}

 protected:
  int overflow(int c) override {
    if (c == EOF) return !EOF;
    const bool ok = a_->sputc(static_cast<char>(c)) != EOF &&
                    (b_ == nullptr || b_->sputc(static_cast<char>(c)) != EOF);
    return ok ? c : EOF;
  }
  int sync() override {
    const int ra = a_->pubsync();
    const int rb = b_ != nullptr ? b_->pubsync() : 0;
    return ra == 0 && rb == 0 ? 0 : -1;
  }

 private:
  std::streambuf* a_;
  std::streambuf* b_;
};

int Usage(const char* argv0) {
  std::string names;
  for (const Section& s : Sections()) names += std::string(names.empty() ? "" : "|") + s.name;
  std::cerr << "usage: " << argv0 << " [--section " << names << "|all] [--out FILE]"
            << " [--allow-slow-blas] [--quick] [--threads N]\n";
  return 2;
}

void PrintMachine(const Options& o, std::ostream& out) {
  const std::string blas = BlasConfig();
  out << "# spindle-bench\n\n"
      << "- CPU: " << CpuModel() << "\n"
      << "- usable cores: " << UsableCores() << " (benchmarks use " << o.threads << ")\n"
      << "- libtorch: " << TORCH_VERSION << " (header version), torch default intra-op threads "
      << at::get_num_threads() << "\n"
      << "- BLAS behind libblas.so.3: " << (blas.empty() ? "not OpenBLAS" : blas) << "\n"
      << "- Spindle CPU kernels: " << kernels::cpu::IsaName(kernels::cpu::BestIsa()) << "\n\n";
}

}  // namespace

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--train-case") {  // a child of the train section
      const char* v = value();
      if (v == nullptr) return Usage(argv[0]);
      return RunTrainCase(v);
    }
    if (arg == "--section") {
      const char* v = value();
      if (v == nullptr) return Usage(argv[0]);
      o.section = v;
    } else if (arg == "--out") {
      const char* v = value();
      if (v == nullptr) return Usage(argv[0]);
      o.out_path = v;
    } else if (arg == "--threads") {
      const char* v = value();
      if (v == nullptr || std::atoi(v) <= 0) return Usage(argv[0]);
      o.threads = std::atoi(v);
    } else if (arg == "--allow-slow-blas") {
      o.allow_slow_blas = true;
    } else if (arg == "--quick") {
      o.quick = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (o.threads == 0) o.threads = UsableCores();
  std::vector<Section> run;
  for (const Section& s : Sections()) {
    if (o.section == "all" || o.section == s.name) run.push_back(s);
  }
  if (run.empty()) return Usage(argv[0]);

  std::ofstream file;
  if (!o.out_path.empty()) {
    file.open(o.out_path);
    if (!file) {
      std::cerr << "cannot write " << o.out_path << "\n";
      return 2;
    }
  }
  TeeBuf tee(std::cout.rdbuf(), file.is_open() ? file.rdbuf() : nullptr);
  std::ostream out(&tee);
  PrintMachine(o, out);
  int rc = 0;
  for (const Section& s : run) {
    if (const int r = s.run(o, out); r != 0) rc = r;
    out.flush();
  }
  return rc;
}

}  // namespace spindle::bench

int main(int argc, char** argv) { return spindle::bench::Main(argc, argv); }
