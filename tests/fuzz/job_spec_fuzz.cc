// libFuzzer: the job-spec parser on arbitrary bytes. Invariants: it never
// crashes; an error names where (a file:line:column or a field path); a spec
// it accepts is emitted and re-parsed to the same spec (the emitter and the
// parser agree).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common/config/emit.h"
#include "common/config/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<spindle::config::JobSpec> spec =
      spindle::config::ParseJobSpec(text, "fuzz.yaml", {});
  if (!spec.ok()) {
    if (spec.status().message().empty()) {
      std::cerr << "an error without a message\n";
      std::abort();
    }
    return 0;
  }
  const std::string emitted = spindle::config::EmitJobSpec(*spec);
  absl::StatusOr<spindle::config::JobSpec> again =
      spindle::config::ParseJobSpec(emitted, "emitted.yaml", {});
  if (!again.ok() || spindle::config::EmitJobSpec(*again) != emitted) {
    std::cerr << "emitted spec does not round-trip:\n"
              << emitted << "\n"
              << (again.ok() ? spindle::config::EmitJobSpec(*again) : again.status().ToString())
              << "\n";
    std::abort();
  }
  return 0;
}
