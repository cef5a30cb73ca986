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

}  // namespace spindle::layout
