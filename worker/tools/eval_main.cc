// spindle-eval: mean next-token loss of a Hugging Face-layout Llama model
// (config.json + model.safetensors, e.g. a job's exported weights or a
// checkpoint directory) over a token file, a text file, or the synthetic
// copy task.
//
//   spindle-eval --model exports/demo --data tokens.bin --dtype uint16 --seq_len 1024
//   spindle-eval --model exports/demo --synthetic copy --seq_len 256
//
// A file is read as consecutive non-overlapping windows from its start.
// Exit codes: 0 printed, 2 bad usage, model or data.
#include <iostream>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "common/data/synthetic.h"
#include "common/data/token_file.h"
#include "worker/model/hf_weights.h"
#include "worker/runtime/threads.h"
#include "worker/train/evaluate.h"

ABSL_FLAG(std::string, model, "", "directory with config.json and model.safetensors");
ABSL_FLAG(std::string, data, "", "token file (raw or llm.c) or text file");
ABSL_FLAG(std::string, dtype, "uint16", "uint16 | uint32 | text: how to read --data");
ABSL_FLAG(std::string, synthetic, "", "copy: score the synthetic copy task instead of a file");
ABSL_FLAG(uint64_t, seed, 1, "synthetic data seed");
ABSL_FLAG(int64_t, seq_len, 256, "tokens per scored window");
ABSL_FLAG(int64_t, max_seqs, 64, "windows to score at most");
ABSL_FLAG(int64_t, batch, 4, "windows per forward pass");

int main(int argc, char** argv) {
  using namespace spindle;
  absl::SetProgramUsageMessage("spindle-eval --model DIR (--data FILE | --synthetic copy)");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](const std::string& message) {
    std::cerr << "spindle-eval: " << message << std::endl;
    return 2;
  };
  const std::string dir = absl::GetFlag(FLAGS_model);
  if (dir.empty()) return fail("--model is required");
  const int64_t seq_len = absl::GetFlag(FLAGS_seq_len);
  if (seq_len < 1) return fail("--seq_len must be at least 1");
  auto config = model::ReadHfConfig(dir);
  if (!config.ok()) return fail(std::string(config.status().message()));
  runtime::ApplyThreads(runtime::PlanThreads(0, 1));
  model::LlamaForCausalLM llama(*config);
  if (auto s = model::ImportHfWeights(dir, llama); !s.ok()) return fail(std::string(s.message()));

  train::SequenceSource source;
  int64_t available = absl::GetFlag(FLAGS_max_seqs);
  std::shared_ptr<data::TokenFile> file;
  if (absl::GetFlag(FLAGS_synthetic) == "copy") {
    const int vocab = static_cast<int>(config->vocab_size);
    const uint64_t seed = absl::GetFlag(FLAGS_seed);
    source = [=](int64_t index, absl::Span<int64_t> out) {
      return data::CopySequence(seed, index, seq_len, vocab, out);
    };
    const data::CopyTaskFloor floor = data::CopyTaskLossFloor(seq_len, vocab);
    std::cout << absl::StrFormat("copy task: uniform guess %.4f, perfect copying %.4f\n",
                                 floor.initial_loss, floor.loss_floor);
  } else if (!absl::GetFlag(FLAGS_synthetic).empty()) {
    return fail("--synthetic: only 'copy' is known");
  } else {
    if (absl::GetFlag(FLAGS_data).empty()) return fail("give --data FILE or --synthetic copy");
    data::TokenFileOptions o;
    const std::string dtype = absl::GetFlag(FLAGS_dtype);
    if (dtype == "text") {
      o.kind = data::TokenFileKind::kText;
    } else if (dtype == "uint16" || dtype == "uint32") {
      o.token_bytes = dtype == "uint16" ? 2 : 4;
    } else {
      return fail("--dtype: '" + dtype + "'; use uint16, uint32 or text");
    }
    o.vocab_size = static_cast<int>(config->vocab_size);
    o.seq_len = seq_len;
    auto opened = data::TokenFile::Open(absl::GetFlag(FLAGS_data), o);
    if (!opened.ok()) return fail(std::string(opened.status().message()));
    file = std::make_shared<data::TokenFile>(*std::move(opened));
    available = std::min(available, (file->num_tokens() - 1) / seq_len);
    source = [file, seq_len](int64_t index, absl::Span<int64_t> out) {
      file->Read(index * seq_len, out);
      return absl::OkStatus();
    };
  }
  auto result = train::Evaluate(llama, seq_len, source, available, absl::GetFlag(FLAGS_batch));
  if (!result.ok()) return fail(std::string(result.status().message()));
  std::cout << absl::StrFormat("mean next-token loss %.4f over %d tokens (%d windows of %d)\n",
                               result->loss, result->tokens, result->sequences, seq_len);
  return 0;
}
