#include "common/layout/head_plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spindle::layout {
namespace {

bool Accepts(int h, int h_kv, int u) { return h % u == 0 && (h_kv % u == 0 || u % h_kv == 0); }

}  // namespace

absl::StatusOr<HeadPlan> PlanHeads(int h, int h_kv, int ulysses, const char* field_prefix) {
  if (h < 1 || h_kv < 1 || h % h_kv != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_attention_heads (", h,
                     ") must be a positive multiple of num_key_value_heads (", h_kv, ")"));
  }
  if (ulysses < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_prefix, ": degree must be >= 1, got ", ulysses));
  }
  if (!Accepts(h, h_kv, ulysses)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field_prefix, ": degree ", ulysses, " cannot split ", h, " query heads and ", h_kv,
        " key/value heads evenly (it must divide the query heads, and divide or be a multiple "
        "of the key/value heads); valid degrees: ",
        absl::StrJoin(ValidUlyssesDegrees(h, h_kv, h), ", "),
        ". Lower the Ulysses degree and raise the ring degree instead"));
  }
  HeadPlan plan;
  plan.h = h;
  plan.h_kv = h_kv;
  plan.ulysses = ulysses;
  plan.kv_replicas = h_kv % ulysses == 0 ? 1 : ulysses / h_kv;
  return plan;
}

std::vector<int> ValidUlyssesDegrees(int h, int h_kv, int max_degree) {
  std::vector<int> valid;
  for (int u = 1; u <= max_degree; ++u) {
    if (Accepts(h, h_kv, u)) valid.push_back(u);
  }
  return valid;
}

}  // namespace spindle::layout
