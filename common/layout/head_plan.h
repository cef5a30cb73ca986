// Which attention heads each Ulysses rank owns. The Ulysses all-to-all trades
// "my tokens, all heads" for "all tokens, my heads", so the degree U must split
// the heads evenly:
//   - U divides h (query heads);
//   - U divides h_kv, or h_kv divides U: then each key/value head is
//     replicated U / h_kv times before the all-to-all (each rank gets one), so
//     the GQA ratio survives and no rank is left without a key/value head.
// Otherwise the degree is refused with the list of valid degrees (lower U,
// raise the ring degree R instead).
//
// Head counts are per model, never process-wide state.
#pragma once

#include <vector>

#include "absl/status/statusor.h"

namespace spindle::layout {

struct HeadPlan {
  int h = 0;            // query heads of the model
  int h_kv = 0;         // key/value heads of the model
  int ulysses = 1;      // U
  int kv_replicas = 1;  // copies of each key/value head sent through the all-to-all
  int h_local() const { return h / ulysses; }               // query heads per rank
  int h_kv_wire() const { return h_kv * kv_replicas; }      // max(h_kv, U) when replicating
  int h_kv_local() const { return h_kv_wire() / ulysses; }  // key/value heads per rank
  // Query heads of Ulysses rank u: [u·h_local, (u+1)·h_local).
  int first_q_head(int u) const { return u * h_local(); }
  // Key/value heads of Ulysses rank u, in the replicated numbering
  // [u·h_kv_local, (u+1)·h_kv_local); replicated head e is model head
  // e / kv_replicas.
  int first_kv_wire_head(int u) const { return u * h_kv_local(); }
};

// field_prefix names the configuration field in errors, e.g.
// "parallel.ulysses".
absl::StatusOr<HeadPlan> PlanHeads(int h, int h_kv, int ulysses,
                                   const char* field_prefix = "ulysses");

// Every Ulysses degree in [1, max_degree] that PlanHeads accepts.
std::vector<int> ValidUlyssesDegrees(int h, int h_kv, int max_degree);

}  // namespace spindle::layout
