#include "worker/bench/comm_bench.h"

#include <torch/torch.h>

#include <vector>

#include "absl/strings/str_format.h"
#include "common/comm/local_communicator.h"
#include "common/layout/ring_work.h"
#include "common/status.h"
#include "worker/sp/sp_attention.h"

namespace spindle::bench {
namespace {

struct Algo {
  const char* name;
  int ulysses, ring;
  layout::LayoutKind layout;
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
};

int64_t FormulaForward(const layout::AttentionTraffic& t) {
  return t.all_to_all_forward.bytes + t.send_recv_forward.bytes;
}
int64_t FormulaBackward(const layout::AttentionTraffic& t) {
  return t.all_to_all_backward.bytes + t.send_recv_backward.bytes;
}

struct Measured {
  int64_t forward = 0;        // bytes sent by rank 0, forward
  int64_t backward = 0;       // bytes sent by rank 0, backward
  int64_t max_rank_diff = 0;  // max over ranks of |counted − that rank's formula|
  int64_t spread = 0;         // max over ranks of |bytes − rank 0's|: 0 when symmetric
};

// Runs one causal attention layer forward and backward with in-process ranks
// and counts what each rank's communicators sent.
Measured MeasureLayer(const Algo& a, int64_t seq_len, int h, int h_kv, int d) {
  const int world = a.ulysses * a.ring;
  const auto lay = *layout::SequenceLayout::Create(a.layout, seq_len, a.ulysses, a.ring);
  auto fabric = comm::LocalFabric::Create(world);
  std::vector<int64_t> fwd(world), bwd(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      auto connect = [&](const std::vector<int>& ranks, const char* name) {
        comm::CommOptions o;
        o.group = name;
        auto c = fabric->Connect(ranks, rank, o);
        SPINDLE_CHECK(c.ok()) << c.status();
        return std::shared_ptr<comm::Communicator>(std::move(*c));
      };
      const int u = rank % a.ulysses, r = rank / a.ulysses;
      std::vector<int> u_group, r_group;
      for (int i = 0; i < a.ulysses; ++i) u_group.push_back(r * a.ulysses + i);
      for (int i = 0; i < a.ring; ++i) r_group.push_back(i * a.ulysses + u);
      sp::SpAttentionOptions o;
      o.h = h;
      o.h_kv = h_kv;
      o.sp_rank = rank;
      o.schedule = a.schedule;
      o.ulysses = connect(u_group, ("u" + std::to_string(r)).c_str());
      o.ring = connect(r_group, ("r" + std::to_string(u)).c_str());
      auto attention = *sp::SpAttention::Create(lay, o);
      at::Tensor q = at::randn({1, lay.local_len(), h, d}).requires_grad_(true);
      at::Tensor k = at::randn({1, lay.local_len(), h_kv, d}).requires_grad_(true);
      at::Tensor v = at::randn({1, lay.local_len(), h_kv, d}).requires_grad_(true);
      auto sent = [&] {
        return o.ulysses->counters().TotalBytesSent() + o.ring->counters().TotalBytesSent();
      };
      const int64_t s0 = sent();
      at::Tensor out = attention->Forward(q, k, v);
      const int64_t s1 = sent();
      out.backward(at::ones_like(out));
      fwd[rank] = s1 - s0;
      bwd[rank] = sent() - s1;
    });
  }
  for (auto& t : threads) t.join();
  Measured m{fwd[0], bwd[0], 0, 0};
  const auto heads = *layout::PlanHeads(h, h_kv, a.ulysses);
  for (int rank = 0; rank < world; ++rank) {
    const auto t = layout::AttentionCommVolume({1, lay.padded_len(), d, 4, 4}, heads, a.ring,
                                               a.schedule, rank / a.ulysses);
    m.max_rank_diff = std::max({m.max_rank_diff, std::abs(fwd[rank] - FormulaForward(t)),
                                std::abs(bwd[rank] - FormulaBackward(t))});
    m.spread = std::max({m.spread, std::abs(fwd[rank] - fwd[0]), std::abs(bwd[rank] - bwd[0])});
  }
  return m;
}

}  // namespace

int RunCommBench(std::ostream& out) {
  at::set_num_threads(1);
  // h_kv = 8 >= P: no key/value replication, so the scaling shape shows.
  constexpr int kH = 16, kHkv = 8, kD = 64;
  bool all_exact = true;
  out << "## Communication per causal attention layer and rank (fp32, b=1, h=16, h_kv=8, "
         "d=64)\n\n"
      << "Counted by the communicators on in-process ranks running one layer forward and\n"
      << "backward, rank 0 shown; formula from common/layout/comm_volume.h. Δ is the largest\n"
      << "|counted − formula| over every rank (each against its own formula); spread is how\n"
      << "much ranks differ (LightSeq is asymmetric by design). When S and P double together,\n"
      << "Ulysses bytes per rank tend to a constant ((P−1)/P); ring bytes grow with S, not P.\n"
      << "Imbalance: max over ring ranks of causal work / mean (1.00 = balanced).\n\n"
      << "| algorithm | layout | U×R | S | fwd counted | fwd formula | bwd counted | bwd formula "
         "| Δ | spread | imbalance |\n"
      << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (auto [s, p] : {std::pair<int64_t, int>{2048, 2}, {4096, 4}, {8192, 8}}) {
    std::vector<Algo> algos = {{"ulysses", p, 1, layout::LayoutKind::kContiguous},
                               {"ring", 1, p, layout::LayoutKind::kContiguous},
                               {"ring", 1, p, layout::LayoutKind::kZigzag},
                               {"ring", 1, p, layout::LayoutKind::kStriped}};
    algos.push_back(
        {"lightseq", 1, p, layout::LayoutKind::kContiguous, layout::RingSchedule::kLightSeq});
    if (p >= 4) algos.push_back({"usp", 2, p / 2, layout::LayoutKind::kZigzag});
    for (const Algo& a : algos) {
      const auto lay = *layout::SequenceLayout::Create(a.layout, s, a.ulysses, a.ring);
      const auto t = layout::AttentionCommVolume({1, lay.padded_len(), kD, 4, 4},
                                                 *layout::PlanHeads(kH, kHkv, a.ulysses), a.ring,
                                                 a.schedule, /*ring_rank=*/0);
      const Measured m = MeasureLayer(a, s, kH, kHkv, kD);
      all_exact = all_exact && m.max_rank_diff == 0;
      const double imbalance = a.schedule == layout::RingSchedule::kLightSeq
                                   ? layout::LightSeqImbalance(lay)
                                   : layout::RingImbalance(lay, /*causal=*/true);
      out << absl::StrFormat("| %s | %s | %d×%d | %d | %d | %d | %d | %d | %d | %d | %.2f |\n",
                             a.name, layout::LayoutName(a.layout), a.ulysses, a.ring, s, m.forward,
                             FormulaForward(t), m.backward, FormulaBackward(t), m.max_rank_diff,
                             m.spread, imbalance);
    }
  }
  out << "\n"
      << (all_exact ? "Counted bytes equal the formulas exactly on every rank."
                    : "MISMATCH between counted bytes and the formulas.")
      << "\n\n";

  // The reference figures of sp-algorithms §6: Llama-3-8B layer, S = 128K, P = 8, bf16.
  out << "## Formula: Llama-3-8B layer (h=32, h_kv=8, d=128), b=1, S=131072, P=8, bf16, fp32 "
         "dK/dV\n\n| scheme | forward MB | backward MB | total MB |\n|---|---:|---:|---:|\n";
  for (auto [name, u, r] : {std::tuple{"ulysses 8×1", 8, 1},
                            {"ring 1×8", 1, 8},
                            {"usp 4×2", 4, 2},
                            {"usp 2×4", 2, 4}}) {
    const auto t =
        layout::AttentionCommVolume({1, 131072, 128, 2, 4}, *layout::PlanHeads(32, 8, u), r);
    const double f = FormulaForward(t) / 1e6, b = FormulaBackward(t) / 1e6;
    out << absl::StrFormat("| %s | %.0f | %.0f | %.0f |\n", name, f, b, f + b);
  }
  out << "\n";
  return all_exact ? 0 : 1;
}

}  // namespace spindle::bench
