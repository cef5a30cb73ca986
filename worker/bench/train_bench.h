// The training benchmark (issue: tokens/s and MFU per step): a full AdamW
// step of the tiny and the ~100M-parameter Llama at several sequence lengths
// and sequence-parallel degrees, each activation-checkpointing mode. Every
// case runs in a fresh child process (ranks as threads over the in-process
// communicator), so its peak RSS is its own. MFU is against the FMA peak the
// BLAS gate measures in the same run, in the Megatron convention with the
// PaLM figure beside it (common/layout/flops.h).
#pragma once

#include <ostream>
#include <string>

namespace spindle::bench {

struct TrainBenchOptions {
  bool quick = false;  // fewer and shorter cases
  int cores = 1;
};

// The section: spawns one child per case and prints the table.
int RunTrainBench(const TrainBenchOptions& options, std::ostream& out);

// The child: runs the case named by `spec` ("preset,seq_len,ulysses,ring,
// checkpointing,steps") and prints one result line on stdout.
int RunTrainCase(const std::string& spec);

}  // namespace spindle::bench
