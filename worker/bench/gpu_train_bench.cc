// The training section of spindle-gpu-bench (gpu_bench.h).
#include <cuda_runtime.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/comm/cuda_memory.h"
#include "common/comm/local_communicator.h"
#include "common/config/presets.h"
#include "common/data/synthetic.h"
#include "common/layout/flops.h"
#include "common/status.h"
#include "worker/bench/gpu_bench.h"
#include "worker/train/job_options.h"
#include "worker/train/trainer.h"

namespace spindle::bench {
namespace {

constexpr char kPreset[] = "llama-1b";
constexpr int64_t kSeqLen = 16384;
constexpr int kWarmup = 2, kTimed = 5;
constexpr const char* kModes[] = {"none", "attention", "full"};

model::LlamaConfig Model() {
  config::ModelSpec spec;
  SPINDLE_CHECK(config::ApplyModelPreset(kPreset, &spec)) << kPreset;
  model::LlamaConfig c = train::LlamaConfigOf(spec);
  c.max_position_embeddings = kSeqLen;
  return c;
}

struct CaseResult {
  double step_seconds = 0;
  int64_t tokens = 0;
  double device_bytes = 0;  // in use on the device after the timed steps
};

}  // namespace

int RunGpuTrainCase(const std::string& mode_name) {
  auto mode = model::ParseCheckpointing(mode_name);
  SPINDLE_CHECK(mode.ok()) << mode.status();
  train::TrainerOptions o;
  o.model = Model();
  o.seq_len = kSeqLen;
  o.global_batch_seqs = 1;
  o.checkpointing = *mode;
  o.compute_dtype = at::kBFloat16;
  o.device = at::Device(at::kCUDA, 0);
  o.lr.max_steps = kWarmup + kTimed;
  const int64_t vocab = o.model.vocab_size;
  o.data = [vocab](int64_t index, absl::Span<int64_t> out) {
    return data::CopySequence(1, index, static_cast<int64_t>(out.size()) - 1, vocab, out);
  };
  // One rank: the groups exist but never communicate.
  const layout::MeshDims mesh = *layout::MakeMesh(1, 1, 1, 1);
  auto fabric = comm::LocalFabric::Create(1, comm::CudaMemory());
  auto connect = [&](const std::vector<int>& ranks, const comm::CommOptions& c) {
    return fabric->Connect(ranks, 0, c);
  };
  auto groups = sp::BuildProcessGroups(mesh, 0, std::chrono::minutes(5), connect);
  SPINDLE_CHECK(groups.ok()) << groups.status();
  auto grad_comm = sp::BuildWorldGroup(mesh, 0, std::chrono::minutes(5), connect, "grad");
  SPINDLE_CHECK(grad_comm.ok()) << grad_comm.status();
  auto trainer = train::Trainer::Create(o, *groups, std::move(*grad_comm), nullptr);
  SPINDLE_CHECK(trainer.ok()) << trainer.status();
  auto step = [&] {
    auto stats = (*trainer)->Step();
    SPINDLE_CHECK(stats.ok()) << stats.status();
    return *stats;
  };
  for (int s = 0; s < kWarmup; ++s) step();
  torch::cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  train::StepStats last;
  for (int s = 0; s < kTimed; ++s) last = step();
  torch::cuda::synchronize();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kTimed;
  size_t free_bytes = 0, total_bytes = 0;
  SPINDLE_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess);
  std::printf("loss %.4f grad_norm %.4f\nresult %.6f %lld %zu\n", last.loss, last.grad_norm,
              seconds, static_cast<long long>(last.tokens), total_bytes - free_bytes);
  return 0;
}

double GpuTrainingPeak() {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  return layout::KnownGpuPeak(prop.name).bf16;
}

Table GpuTraining() {
  const double peak = GpuTrainingPeak();
  const model::LlamaConfig m = Model();
  const layout::ModelShape shape{m.hidden_size,         m.intermediate_size,   m.num_hidden_layers,
                                 m.num_attention_heads, m.num_key_value_heads, m.vocab_size};
  const double megatron = layout::MegatronFlopsPerToken(shape, kSeqLen);
  const double palm = layout::PalmFlopsPerToken(shape, kSeqLen);
  Table table({"model", "params", "S", "checkpointing", "step s", "tokens/s", "model TFLOP/s",
               "MFU Megatron", "MFU PaLM", "device GiB"});
  auto mfu = [&](double flops_per_s) {
    return peak > 0 ? Fixed(100 * flops_per_s / peak, 1) + "%" : std::string("n/a");
  };
  for (const char* mode : kModes) {
    const std::vector<std::string> head = {kPreset, absl::StrCat(m.NumParameters()),
                                           absl::StrCat(kSeqLen), mode};
    const absl::StatusOr<std::string> result =
        RunSelfCase({"--train-case", mode}, std::chrono::minutes(8));
    if (!result.ok()) {
      std::cerr << "training " << result.status().message() << "\n";
      std::vector<std::string> row = head;
      row.push_back("failed (see the log)");
      while (row.size() < 10) row.push_back("");
      table.Add(row);
      continue;
    }
    CaseResult r;
    std::istringstream(*result) >> r.step_seconds >> r.tokens >> r.device_bytes;
    const double tps = r.tokens / r.step_seconds;
    std::vector<std::string> row = head;
    for (std::string cell :
         {Fixed(r.step_seconds, 3), Fixed(tps, 0), Fixed(megatron * tps / 1e12, 0),
          mfu(megatron * tps), mfu(palm * tps), Fixed(r.device_bytes / (1 << 30), 1)}) {
      row.push_back(cell);
    }
    std::cerr << "training " << mode << ": " << Fixed(r.step_seconds, 3) << " s/step\n";
    table.Add(row);
  }
  return table;
}

}  // namespace spindle::bench
