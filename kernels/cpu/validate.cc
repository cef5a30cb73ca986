#include "kernels/cpu/validate.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/view_checks.h"

namespace spindle::kernels::cpu {
namespace {

#define SPINDLE_KERNELS_RETURN_IF_ERROR(expr) \
  do {                                        \
    const absl::Status status_ = (expr);      \
    if (!status_.ok()) return status_;        \
  } while (0)

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckPositive(const char* field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be positive, got ", value));
}

absl::Status CheckPositions(const char* field, const int64_t* pos, int64_t n) {
  if (pos == nullptr) return absl::OkStatus();
  for (int64_t i = 0; i < n; ++i) {
    if (pos[i] < 0) {
      return Invalid(absl::StrCat(field, "[", i, "]"), absl::StrCat(pos[i], " is negative"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateProblem(const AttentionProblem& p) {
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.b", p.b));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.s_q", p.s_q));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.s_k", p.s_k));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.h", p.h));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.h_kv", p.h_kv));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("AttentionProblem.d", p.d));
  if (p.h % p.h_kv != 0) {
    return Invalid("AttentionProblem.h_kv", absl::StrCat(p.h_kv, " does not divide h = ", p.h));
  }
  if (!std::isfinite(p.scale)) {
    return Invalid("AttentionProblem.scale", absl::StrCat("must be finite, got ", p.scale));
  }
  if (p.valid_len < 0) {
    return Invalid("AttentionProblem.valid_len", absl::StrCat("is negative (", p.valid_len, ")"));
  }
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionProblem.q", p.q, p.b, p.s_q, p.h, p.d, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionProblem.k", p.k, p.b, p.s_k, p.h_kv, p.d, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionProblem.v", p.v, p.b, p.s_k, p.h_kv, p.d, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositions("AttentionProblem.q_pos", p.q_pos, p.s_q));
  return CheckPositions("AttentionProblem.k_pos", p.k_pos, p.s_k);
}

absl::Status ValidateForwardOut(const AttentionProblem& p, const AttentionForwardOut& out) {
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionForwardOut.o", out.o, p.b, p.s_q, p.h, p.d, /*output=*/true));
  return CheckBhsView("AttentionForwardOut.lse", out.lse, p.b, p.h, p.s_q, /*output=*/true);
}

absl::Status ValidateBackward(const AttentionProblem& p, const AttentionBackwardIn& in,
                              const AttentionBackwardOut& out) {
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionBackwardIn.o", in.o, p.b, p.s_q, p.h, p.d, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionBackwardIn.d_o", in.d_o, p.b, p.s_q, p.h, p.d, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBhsView("AttentionBackwardIn.lse", in.lse, p.b, p.h, p.s_q, /*output=*/false));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionBackwardOut.dq", out.dq, p.b, p.s_q, p.h, p.d, /*output=*/true));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("AttentionBackwardOut.dk", out.dk, p.b, p.s_k, p.h_kv, p.d, /*output=*/true));
  return CheckBshdView("AttentionBackwardOut.dv", out.dv, p.b, p.s_k, p.h_kv, p.d, /*output=*/true);
}

absl::Status ValidateMerge(const MergeProblem& m) {
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("MergeProblem.b", m.b));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("MergeProblem.s", m.s));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("MergeProblem.h", m.h));
  SPINDLE_KERNELS_RETURN_IF_ERROR(CheckPositive("MergeProblem.d", m.d));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("MergeProblem.o", m.o, m.b, m.s, m.h, m.d, /*output=*/true));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBhsView("MergeProblem.lse", m.lse, m.b, m.h, m.s, /*output=*/true));
  SPINDLE_KERNELS_RETURN_IF_ERROR(
      CheckBshdView("MergeProblem.o_blk", m.o_blk, m.b, m.s, m.h, m.d, /*output=*/false));
  return CheckBhsView("MergeProblem.lse_blk", m.lse_blk, m.b, m.h, m.s, /*output=*/false);
}

}  // namespace spindle::kernels::cpu
