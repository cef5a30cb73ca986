// Error handling: recoverable errors travel as absl::Status / StatusOr<T>
// (bad input, timeouts, a lost peer); broken invariants abort with context via
// SPINDLE_CHECK. docs/errors.md says which is which.
//
// Debian 12's abseil (20220623) lacks upstream's status macros; these are ours.
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SPINDLE_STATUS_CONCAT_INNER(a, b) a##b
#define SPINDLE_STATUS_CONCAT(a, b) SPINDLE_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when expr (a Status) is not OK.
#define SPINDLE_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status spindle_status_ = (expr);           \
    if (!spindle_status_.ok()) return spindle_status_; \
  } while (0)

// `SPINDLE_ASSIGN_OR_RETURN(auto x, F());` binds the value of a StatusOr or
// returns its error.
#define SPINDLE_ASSIGN_OR_RETURN(lhs, rexpr) \
  SPINDLE_ASSIGN_OR_RETURN_IMPL(SPINDLE_STATUS_CONCAT(spindle_statusor_, __LINE__), lhs, rexpr)
#define SPINDLE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

namespace spindle::internal {

// Collects the streamed context of a failed check and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond) {
    stream_ << file << ":" << line << ": check failed: " << cond << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `cond ? (void)0 : Voidify() & stream` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace spindle::internal

// Aborts with file:line and streamed context when cond is false. For broken
// invariants only, never for conditions the environment or user imposes.
#define SPINDLE_CHECK(cond)                 \
  (cond) ? (void)0                          \
         : ::spindle::internal::Voidify() & \
               ::spindle::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

// Aborts when a Status that must succeed does not.
#define SPINDLE_CHECK_OK(expr)                                          \
  do {                                                                  \
    ::absl::Status spindle_check_status_ = (expr);                      \
    SPINDLE_CHECK(spindle_check_status_.ok()) << spindle_check_status_; \
  } while (0)
