#include "common/config/resolve.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/layout/head_plan.h"

namespace spindle::config {
namespace {

std::string Divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return absl::StrJoin(d, ", ");
}

bool SplitsHeads(const ModelSpec& m, int u) {
  return m.num_attention_heads % u == 0 &&
         (m.num_key_value_heads % u == 0 || u % m.num_key_value_heads == 0);
}

absl::Status Error(const std::string& field, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

}  // namespace

absl::StatusOr<ResolvedParallel> ResolveParallel(const JobSpec& spec, int world_size) {
  if (world_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("world size must be >= 1, got ", world_size));
  }
  const ParallelSpec& p = spec.parallel;
  const ModelSpec& m = spec.model;
  // What the arithmetic below divides by; ValidateJobSpec checks the rest.
  for (const auto& [field, value] : {std::pair<const char*, int>{"parallel.dp", p.dp},
                                     {"parallel.sp.ulysses", p.sp.ulysses},
                                     {"parallel.sp.ring", p.sp.ring}}) {
    if (value < 0) return Error(field, absl::StrCat("must be >= 1 or auto, got ", value));
  }
  if (spec.data.micro_batch_seqs < 1 || spec.data.global_batch_seqs < 0) {
    return Error("data", "micro_batch_seqs must be >= 1 and global_batch_seqs >= 0 or auto");
  }
  if (m.num_attention_heads < 1 || m.num_key_value_heads < 1) {
    return Error("model", "num_attention_heads and num_key_value_heads must be >= 1");
  }
  const bool lightseq = p.sp.schedule == layout::RingSchedule::kLightSeq;
  ResolvedParallel r;
  r.world_size = world_size;

  // 1, 2: dp and the ranks left for sequence parallelism.
  if (p.dp != kAuto) {
    if (world_size % p.dp != 0) {
      return Error("parallel.dp", absl::StrCat(p.dp, " does not divide the world size ", world_size,
                                               "; use one of ", Divisors(world_size), " or auto"));
    }
    r.dp = p.dp;
  } else if (p.sp.ulysses != kAuto && p.sp.ring != kAuto) {
    const int sp = p.sp.ulysses * p.sp.ring;
    if (world_size % sp != 0) {
      return Error("parallel.sp", absl::StrCat("ulysses × ring = ", p.sp.ulysses, " × ", p.sp.ring,
                                               " = ", sp, " does not divide the world size ",
                                               world_size, " (parallel.dp is auto)"));
    }
    r.dp = world_size / sp;
  }
  const int sp = world_size / r.dp;
  const std::string left = absl::StrCat(sp, " ranks left for sequence parallelism (world size ",
                                        world_size, " / parallel.dp ", r.dp, ")");

  // 3: ulysses and ring.
  std::string ulysses_field = "parallel.sp.ulysses";
  if (p.sp.ulysses != kAuto && p.sp.ring != kAuto) {
    if (p.sp.ulysses * p.sp.ring != sp) {
      return Error("parallel.sp", absl::StrCat("ulysses × ring = ", p.sp.ulysses, " × ", p.sp.ring,
                                               " = ", p.sp.ulysses * p.sp.ring, " but there are ",
                                               left, "; change them or set one to auto"));
    }
    r.ulysses = p.sp.ulysses;
  } else if (p.sp.ulysses != kAuto) {
    if (sp % p.sp.ulysses != 0) {
      return Error(ulysses_field, absl::StrCat(p.sp.ulysses, " does not divide the ", left,
                                               "; use one of ", Divisors(sp)));
    }
    r.ulysses = p.sp.ulysses;
  } else if (p.sp.ring != kAuto) {
    if (sp % p.sp.ring != 0) {
      return Error("parallel.sp.ring", absl::StrCat(p.sp.ring, " does not divide the ", left,
                                                    "; use one of ", Divisors(sp)));
    }
    r.ulysses = sp / p.sp.ring;
    ulysses_field = absl::StrCat("parallel.sp.ulysses (auto: ", sp, " / ring ", p.sp.ring, ")");
  } else {
    for (int u = sp; u >= 1; --u) {
      const int ring = sp / u;
      if (sp % u == 0 && SplitsHeads(m, u) && (!lightseq || ring == 1 || ring % 2 == 0)) {
        r.ulysses = u;
        break;
      }
    }
  }
  r.ring = sp / r.ulysses;
  auto heads = layout::PlanHeads(m.num_attention_heads, m.num_key_value_heads, r.ulysses,
                                 ulysses_field.c_str());
  if (!heads.ok()) return heads.status();
  if (lightseq && r.ring != 1 && r.ring % 2 != 0) {
    return Error("parallel.sp.ring",
                 absl::StrCat("lightseq needs an even ring degree (or 1), got ", r.ring,
                              "; change the degrees or use schedule: ring"));
  }

  // 4: batch.
  r.micro_batch_seqs = spec.data.micro_batch_seqs;
  const int64_t per_micro_step = int64_t{r.dp} * r.micro_batch_seqs;
  r.global_batch_seqs =
      spec.data.global_batch_seqs > 0 ? spec.data.global_batch_seqs : per_micro_step;
  if (r.global_batch_seqs % per_micro_step != 0) {
    return Error("data.global_batch_seqs",
                 absl::StrCat(r.global_batch_seqs, " is not divisible by dp × micro_batch_seqs = ",
                              r.dp, " × ", r.micro_batch_seqs, " = ", per_micro_step,
                              " (dp resolved for world size ", world_size, ")"));
  }
  r.grad_accum_steps = r.global_batch_seqs / per_micro_step;
  return r;
}

int64_t TotalSteps(const JobSpec& spec, int64_t global_batch_seqs) {
  if (spec.train.max_steps > 0) return spec.train.max_steps;
  const int64_t per_step = global_batch_seqs * spec.data.seq_len;
  return (spec.train.max_tokens + per_step - 1) / per_step;
}

}  // namespace spindle::config
