#include "common/layout/ring_work.h"

#include <algorithm>

namespace spindle::layout {
namespace {

// Pairs (i, j) with k[j] <= q[i] (causal) among real tokens; O(n log n).
int64_t CountPairs(std::vector<int64_t> q, std::vector<int64_t> k, int64_t valid, bool causal) {
  auto drop_padding = [valid](std::vector<int64_t>& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [valid](int64_t p) { return p >= valid; }), v.end());
  };
  drop_padding(q);
  drop_padding(k);
  if (!causal) return static_cast<int64_t>(q.size()) * static_cast<int64_t>(k.size());
  std::sort(k.begin(), k.end());
  int64_t pairs = 0;
  for (int64_t qi : q) pairs += std::upper_bound(k.begin(), k.end(), qi) - k.begin();
  return pairs;
}

}  // namespace

std::vector<int64_t> VisiblePairsPerStep(const SequenceLayout& layout, int ring_rank, bool causal) {
  const int r_count = layout.ring();
  const std::vector<int64_t> q = layout.RingPositions(ring_rank);
  std::vector<int64_t> steps;
  for (int s = 0; s < r_count; ++s) {
    const int src = ((ring_rank - s) % r_count + r_count) % r_count;
    steps.push_back(CountPairs(q, layout.RingPositions(src), layout.seq_len(), causal));
  }
  return steps;
}

std::vector<int64_t> LightSeqPairsPerStep(const SequenceLayout& layout, int r) {
  const int r_count = layout.ring(), steps = r_count / 2;
  auto pairs = [&](int q_rank, int k_rank) {
    return CountPairs(layout.RingPositions(q_rank), layout.RingPositions(k_rank), layout.seq_len(),
                      /*causal=*/true);
  };
  std::vector<int64_t> work = {pairs(r, r)};
  for (int t = 1; t <= steps; ++t) {
    if (r >= t) {
      work.push_back(pairs(r, r - t));
    } else if (t < steps) {
      work.push_back(pairs(r + r_count - t, r));
    } else {
      work.push_back(0);
    }
  }
  return work;
}

namespace {

template <typename PerStep>
double Imbalance(int ranks, PerStep per_step) {
  int64_t max_work = 0;
  int64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    int64_t work = 0;
    for (int64_t w : per_step(r)) work += w;
    max_work = std::max(max_work, work);
    total += work;
  }
  return total == 0 ? 1.0 : static_cast<double>(max_work) * ranks / total;
}

}  // namespace

double RingImbalance(const SequenceLayout& layout, bool causal) {
  return Imbalance(layout.ring(), [&](int r) { return VisiblePairsPerStep(layout, r, causal); });
}

double LightSeqImbalance(const SequenceLayout& layout) {
  return Imbalance(layout.ring(), [&](int r) { return LightSeqPairsPerStep(layout, r); });
}

}  // namespace spindle::layout
