// The cost model. Notation: S real tokens per sequence, S_pad the padded
// length (layout/sequence_layout.h), W = dp·U·R ranks, L = S_pad/(U·R) tokens
// per rank per sequence, m = data.micro_batch_seqs, G = global_batch_seqs,
// A = G/(dp·m) micro-steps per optimizer step. Model: h hidden, F
// intermediate, n layers, H query heads, D = h/H, kv' = h_kv·kv_replicas·D
// (width of k or of v on the wire), V vocab, N parameters
// (config/presets.h), N_mm matmul parameters (layout/flops.h), N_layer =
// N_mm − V·h. b = 2 bytes per activation under bf16, else 4.
//
// Compute per optimizer step, at the peak of the weakest device:
//   f         = 6·N_mm + 6·n·h·S_pad         Megatron FLOPs per token
//   recompute = full: 2·N_layer + 2·n·h·S_pad (one more forward of each layer)
//               attention: 2·N_layer          (projections, norms, MLP only)
//   compute   = (f + recompute)·G·S_pad / (W·peak·compute_efficiency)
//   attention = (6 + 2 if full)·n·h·S_pad·G·S_pad / (W·peak·compute_efficiency)
// Communication per rank per step, from layout/comm_volume.h per layer
// (batch m, act_bytes b, fp32 dK/dV accumulators); full checkpointing re-runs
// the attention forward and its communication:
//   ulysses = n·A·(all_to_all_fwd·(2 if full else 1) + all_to_all_bwd)
//   ring    = n·A·(send_recv_fwd·(2 if full else 1) + send_recv_bwd)
//             (LightSeq: the busiest ring rank)
//   dp      = 2·(W−1)/W · 4·N    fp32 gradient ring all-reduce over the whole
//                                world, once per step
//   params  = (W−1)/W · w·N      sharded optimizer: all-gather of the updated
//                                weights (w = 2 under bf16, else 4), exposed
//   seconds = bytes / bandwidth; a kind of group uses the inter-node
//             bandwidth when any of its groups spans nodes, else intra-node.
//   overlap: ulysses none (the all-to-all blocks attention); ring up to the
//   attention compute; dp up to the last micro-step's backward,
//   compute/A · (2f/3 + recompute)/(f + recompute).
//   exposed = communication − overlapped; total = compute + exposed.
// MFU = (6·N_mm + 6·n·h·S)·G·S / (total·W·peak): model FLOPs of real
// tokens, no recompute, no padding; tokens/s = G·S / total.
//
// Memory per device (every rank holds the same). Z = W when
// train.optimizer.sharded (ZeRO stage 1), else 1:
//   weights: fp32 4·N; bf16 2·N (compute copy, replicated) + 4·N/Z (fp32
//     master, part of the sharded optimizer state)
//   gradients 4·N (fp32, replicated); optimizer 8·N/Z (AdamW m and v, fp32)
//   activations = m·L·(n·keep + k·layer + 2·b·h), per token:
//     layer = b·(8h + 4kv' + 4F) + 4H: everything one layer computes — input,
//       norm, q, q after the all-to-all, attention output before and after
//       the inverse all-to-all, residual, norm (8h); k and v before and after
//       the all-to-all (4kv'); gate, up, silu(gate), their product (4F);
//       fp32 LSE (4H)
//     keep = none: layer; attention: b·(3h + 2kv') + 4H (the layer input and
//       attention's own q, k, v, output, LSE); full: b·h (the layer input)
//     k = 1 for none (gradients of the layer in backward), 2 otherwise (the
//       recomputed layer and its gradients)
//     2·b·h: embedding output and final norm
//   logits = m·L·V·4·2 (fp32 logits and their gradient)
//   workspace = 8 MiB (two 4 MiB gradient buckets in flight)
//     + U > 1: 2·m·L·(h + 2kv')·b  (all-to-all send and receive staging)
//     + R > 1: 4·m·L·kv'·(b + 4)    (two k/v blocks in flight, two fp32 dK/dV)
//     + LightSeq: 2·m·L·(3h·b + 4H) (q, o, dO and LSE bundles)
//   feasible when total <= memory_bytes·(1 − memory_headroom).
#include "coordinator/planner/cost_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/config/presets.h"
#include "common/layout/comm_volume.h"
#include "common/layout/flops.h"
#include "common/layout/head_plan.h"
#include "common/layout/mesh.h"
#include "common/layout/sequence_layout.h"
#include "coordinator/planner/format.h"

namespace spindle::planner::internal {
namespace {

using config::ActivationCheckpointing;

constexpr int64_t kBucketWorkspace = int64_t{8} << 20;  // two 4 MiB gradient buckets

layout::ModelShape ShapeOf(const config::ModelSpec& m) {
  return {m.hidden_size,         m.intermediate_size,   m.num_hidden_layers,
          m.num_attention_heads, m.num_key_value_heads, m.vocab_size};
}

// Whether some Ulysses (ring) group holds ranks on two nodes; ranks fill
// nodes in order, devices_per_node each. A Ulysses group is U consecutive
// ranks; a ring group is R ranks U apart. O(W / U) and O(W / R) checks: the
// first and last member of each group decide.
bool UlyssesSpansNodes(const layout::MeshDims& dims, int devices_per_node) {
  for (int first = 0; first < dims.world(); first += dims.ulysses) {
    if (first / devices_per_node != (first + dims.ulysses - 1) / devices_per_node) return true;
  }
  return false;
}

bool RingSpansNodes(const layout::MeshDims& dims, int devices_per_node) {
  for (int dp = 0; dp < dims.dp; ++dp) {
    for (int u = 0; u < dims.ulysses; ++u) {
      const int first = dp * dims.ring * dims.ulysses + u;
      const int last = first + (dims.ring - 1) * dims.ulysses;
      if (first / devices_per_node != last / devices_per_node) return true;
    }
  }
  return false;
}

// Bytes sent by the busiest rank: LightSeq ranks differ, the others do not.
layout::AttentionTraffic BusiestRankTraffic(const layout::AttentionCommShape& shape,
                                            const layout::HeadPlan& heads, int ring,
                                            layout::RingSchedule schedule) {
  layout::AttentionTraffic most = layout::AttentionCommVolume(shape, heads, ring, schedule, 0);
  if (schedule != layout::RingSchedule::kLightSeq) return most;
  auto load = [](const layout::AttentionTraffic& t) {
    return std::max(t.send_recv_forward.bytes, t.send_recv_forward.bytes_received) +
           std::max(t.send_recv_backward.bytes, t.send_recv_backward.bytes_received);
  };
  for (int r = 1; r < ring; ++r) {
    layout::AttentionTraffic t = layout::AttentionCommVolume(shape, heads, ring, schedule, r);
    if (load(t) > load(most)) most = t;
  }
  return most;
}

int64_t SendRecvBytes(const layout::TrafficPart& p) { return std::max(p.bytes, p.bytes_received); }

}  // namespace

int64_t ActivationBytes(const config::JobSpec& spec) {
  return spec.train.precision == config::Precision::kBf16 ? 2 : 4;
}

double RingOverlapThreshold(const config::JobSpec& spec, double effective_flops, double bandwidth) {
  const config::ModelSpec& m = spec.model;
  const double g = static_cast<double>(m.num_key_value_heads) / m.num_attention_heads;
  const double f = spec.parallel.sp.layout == layout::LayoutKind::kContiguous ? 1.0 : 0.5;
  return g * static_cast<double>(ActivationBytes(spec)) * effective_flops / (2 * f * bandwidth);
}

void PriceCandidate(const config::JobSpec& spec, const config::ResolvedParallel& r,
                    const NodeSet& nodes, const CostModelOptions& cost, Candidate* c) {
  const config::ModelSpec& m = spec.model;
  const ActivationCheckpointing ckpt = spec.train.activation_checkpointing;
  const bool full = ckpt == ActivationCheckpointing::kFull;
  const layout::RingSchedule schedule = spec.parallel.sp.schedule;
  // Checked by ResolveParallel and ValidateJobSpec before we get here.
  const layout::HeadPlan heads =
      *layout::PlanHeads(m.num_attention_heads, m.num_key_value_heads, r.ulysses);
  const layout::SequenceLayout seq = *layout::SequenceLayout::Create(
      spec.parallel.sp.layout, spec.data.seq_len, r.ulysses, r.ring);
  const layout::MeshDims dims{r.dp, r.ulysses, r.ring};

  const int64_t b = ActivationBytes(spec);
  const int64_t h = m.hidden_size, ffn = m.intermediate_size, n = m.num_hidden_layers;
  const int64_t heads_q = m.num_attention_heads, d = h / heads_q;
  const int64_t kv = int64_t{heads.h_kv_wire()} * d;
  const int64_t params = config::LlamaParameterCount(m);
  const int64_t mb = r.micro_batch_seqs, local = seq.local_len(), s_pad = seq.padded_len();
  const double world = dims.world();

  // Memory.
  MemoryEstimate& mem = c->memory;
  const bool bf16 = spec.train.precision == config::Precision::kBf16;
  const int64_t shards = spec.train.optimizer.sharded ? dims.world() : 1;
  auto sharded = [&](int64_t bytes) { return (bytes + shards - 1) / shards; };
  mem.weights = bf16 ? 2 * params + sharded(4 * params) : 4 * params;
  mem.gradients = params * 4;
  mem.optimizer = sharded(8 * params);
  const int64_t layer = b * (8 * h + 4 * kv + 4 * ffn) + 4 * heads_q;
  int64_t keep = layer, working_layers = 1;
  if (ckpt == ActivationCheckpointing::kAttention) {
    keep = b * (3 * h + 2 * kv) + 4 * heads_q;
    working_layers = 2;
  } else if (full) {
    keep = b * h;
    working_layers = 2;
  }
  mem.activations = mb * local * (n * keep + working_layers * layer + 2 * b * h);
  mem.logits = mb * local * m.vocab_size * 4 * 2;
  mem.workspace = kBucketWorkspace;
  if (r.ulysses > 1) mem.workspace += 2 * mb * local * (h + 2 * kv) * b;
  if (r.ring > 1) mem.workspace += 4 * mb * local * kv * (b + 4);
  if (r.ring > 1 && schedule == layout::RingSchedule::kLightSeq) {
    mem.workspace += 2 * mb * local * (3 * h * b + 4 * heads_q);
  }
  mem.total =
      mem.weights + mem.gradients + mem.optimizer + mem.activations + mem.logits + mem.workspace;
  mem.capacity =
      static_cast<int64_t>(static_cast<double>(nodes.memory_bytes) * (1.0 - cost.memory_headroom));

  // Compute.
  const layout::ModelShape shape = ShapeOf(m);
  const double n_mm = static_cast<double>(layout::MatmulParameters(shape));
  const double n_layer = n_mm - static_cast<double>(m.vocab_size) * h;
  const double attn_per_token = 6.0 * n * h * static_cast<double>(s_pad);
  const double f = layout::MegatronFlopsPerToken(shape, s_pad);
  double recompute = 0;
  if (full) recompute = 2 * n_layer + attn_per_token / 3;
  if (ckpt == ActivationCheckpointing::kAttention) recompute = 2 * n_layer;
  const double tokens = static_cast<double>(r.global_batch_seqs) * s_pad;
  const double rate = world * nodes.peak_flops * cost.compute_efficiency;
  StepTimeEstimate& t = c->time;
  t.compute = (f + recompute) * tokens / rate;
  const double attention_compute = attn_per_token * (full ? 4.0 / 3 : 1.0) * tokens / rate;
  const double last_backward =
      t.compute / r.grad_accum_steps * (2 * f / 3 + recompute) / (f + recompute);

  // Communication.
  const layout::AttentionCommShape comm_shape{mb, s_pad, d, b, 4};
  const layout::AttentionTraffic per_layer =
      BusiestRankTraffic(comm_shape, heads, r.ring, schedule);
  const int64_t layer_steps = n * r.grad_accum_steps;
  const int64_t forwards = full ? 2 : 1;
  struct Group {
    const char* name;
    int64_t bytes;
    bool inter;
    double hidden_behind;  // seconds of compute the traffic may overlap
  };
  const Group groups[] = {
      {"ulysses",
       layer_steps *
           (forwards * per_layer.all_to_all_forward.bytes + per_layer.all_to_all_backward.bytes),
       UlyssesSpansNodes(dims, nodes.devices_per_node), 0.0},
      {"ring",
       layer_steps * (forwards * SendRecvBytes(per_layer.send_recv_forward) +
                      SendRecvBytes(per_layer.send_recv_backward)),
       RingSpansNodes(dims, nodes.devices_per_node), attention_compute},
      {"dp",
       dims.world() > 1
           ? static_cast<int64_t>(2.0 * (world - 1) / world * 4.0 * static_cast<double>(params))
           : 0,
       nodes.count() > 1, last_backward},
      {"params",
       shards > 1 ? static_cast<int64_t>((world - 1) / world * (bf16 ? 2.0 : 4.0) *
                                         static_cast<double>(params))
                  : 0,
       nodes.count() > 1, 0.0},
  };
  c->traffic.clear();
  t.communication = t.overlapped = 0;
  c->feasible = true;
  for (const Group& g : groups) {
    if (g.bytes == 0) continue;
    TrafficEstimate e;
    e.group = g.name;
    e.inter_node = g.inter;
    e.bytes = g.bytes;
    const double bandwidth = g.inter ? nodes.inter_node_bandwidth : nodes.intra_node_bandwidth;
    if (bandwidth <= 0) {
      c->feasible = false;
      c->verdict = absl::StrCat("no ", g.inter ? "inter" : "intra", "_node_bandwidth in the ",
                                "inventory for the ", g.name, " traffic");
      continue;
    }
    e.seconds = static_cast<double>(g.bytes) / bandwidth;
    e.exposed = e.seconds - std::min(e.seconds, g.hidden_behind);
    t.communication += e.seconds;
    t.overlapped += e.seconds - e.exposed;
    c->traffic.push_back(e);
  }
  t.exposed = t.communication - t.overlapped;
  t.total = t.compute + t.exposed;

  const double real_tokens = static_cast<double>(r.global_batch_seqs) * spec.data.seq_len;
  c->mfu = layout::MegatronFlopsPerToken(shape, spec.data.seq_len) * real_tokens /
           (t.total * world * nodes.peak_flops);
  c->tokens_per_second = real_tokens / t.total;

  if (c->feasible && mem.total > mem.capacity) {
    c->feasible = false;
    c->verdict =
        absl::StrCat("needs ", GiB(mem.total), " per device, ", GiB(mem.capacity), " available");
  }
}

}  // namespace spindle::planner::internal
