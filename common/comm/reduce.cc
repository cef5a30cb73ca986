#include "common/comm/reduce.h"

namespace spindle::comm {
namespace {

template <typename T>
void ReduceTyped(T* acc, const T* in, int64_t count, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      for (int64_t i = 0; i < count; ++i) acc[i] = acc[i] + in[i];
      return;
    case ReduceOp::kMax:
      for (int64_t i = 0; i < count; ++i) acc[i] = in[i] > acc[i] ? in[i] : acc[i];
      return;
    case ReduceOp::kMin:
      for (int64_t i = 0; i < count; ++i) acc[i] = in[i] < acc[i] ? in[i] : acc[i];
      return;
  }
}

}  // namespace

void ReduceInto(void* acc, const void* in, int64_t count, DType dtype, ReduceOp op) {
  switch (dtype) {
    case DType::kFloat32:
      ReduceTyped(static_cast<float*>(acc), static_cast<const float*>(in), count, op);
      return;
    case DType::kFloat64:
      ReduceTyped(static_cast<double*>(acc), static_cast<const double*>(in), count, op);
      return;
    case DType::kInt64:
      ReduceTyped(static_cast<int64_t*>(acc), static_cast<const int64_t*>(in), count, op);
      return;
  }
}

}  // namespace spindle::comm
