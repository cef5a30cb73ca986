// Attention work per ring step: how many (query, key) pairs a ring rank
// computes when it holds the key/value block of ring rank (r − s) mod R at step
// s. It shows why contiguous causal layouts are unbalanced (rank 0 does one
// block, rank R−1 all R) and zigzag/striped are not; the planner and the
// benchmark report it, tests pin it to hand-computed tables.
#pragma once

#include <cstdint>
#include <vector>

#include "common/layout/sequence_layout.h"

namespace spindle::layout {

// Visible pairs (padding excluded) of ring rank r at each step s in [0, R).
std::vector<int64_t> VisiblePairsPerStep(const SequenceLayout& layout, int ring_rank, bool causal);

// LightSeq's causal schedule (worker/sp/lightseq.h) on a contiguous layout:
// pairs ring rank r computes at steps 0…R/2 — its diagonal, then one block as
// owner (its queries, keys of rank r − t) or as helper (queries of rank
// r + R − t, its own keys), or nothing at the last step when it is early.
std::vector<int64_t> LightSeqPairsPerStep(const SequenceLayout& layout, int ring_rank);

// max over ranks of total work / mean over ranks: 1.0 is perfect balance.
double RingImbalance(const SequenceLayout& layout, bool causal);
double LightSeqImbalance(const SequenceLayout& layout);

}  // namespace spindle::layout
