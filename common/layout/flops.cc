#include "common/layout/flops.h"

namespace spindle::layout {

int64_t MatmulParameters(const ModelShape& m) {
  const int64_t head_dim = m.hidden / m.heads;
  const int64_t kv = m.kv_heads * head_dim;
  const int64_t attention = 2 * m.hidden * m.hidden + 2 * m.hidden * kv;
  const int64_t mlp = 3 * m.hidden * m.intermediate;
  return m.layers * (attention + mlp) + m.vocab * m.hidden;
}

double MegatronFlopsPerToken(const ModelShape& m, int64_t seq_len) {
  return 6.0 * static_cast<double>(MatmulParameters(m)) + 6.0 * static_cast<double>(m.layers) *
                                                              static_cast<double>(m.hidden) *
                                                              static_cast<double>(seq_len);
}

double PalmFlopsPerToken(const ModelShape& m, int64_t seq_len) {
  return 6.0 * static_cast<double>(MatmulParameters(m)) + 12.0 * static_cast<double>(m.layers) *
                                                              static_cast<double>(m.hidden) *
                                                              static_cast<double>(seq_len);
}

GpuPeak KnownGpuPeak(const std::string& name) {
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("H100") || has("H200") || has("H800") || has("GH200")) {
    if (has("PCIe")) return {756e12, 51e12};
    if (has("NVL") && has("H100")) return {835e12, 60e12};
    return {989e12, 67e12};  // SXM boards, and the H200 (SXM and NVL share the H100 SXM core)
  }
  if (has("A100")) return {312e12, 19.5e12};
  return {};
}

}  // namespace spindle::layout
