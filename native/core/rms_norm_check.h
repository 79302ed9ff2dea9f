// Test-only: the fused RMSNorm (rms_norm.h) against HF's op-by-op expression in float64, with ATen's float32
// error beside it as the yardstick. Nothing in the training path calls this.
#pragma once

#include <cstdint>

namespace rexrag {

/// Largest absolute differences from float64 of the output and of the gradients of Σ r·y (random r) with respect
/// to x and the weight, for random x (rows, width) and weight; the same for ATen's float32 ops; and whether the
/// fused pass gives the same bits (output and both gradients) on one thread as on several.
struct RmsNormCheck {
  double output = 0, grad_input = 0, grad_weight = 0;
  double aten_output = 0, aten_grad_input = 0, aten_grad_weight = 0;
  bool same_on_one_thread = false;
};
RmsNormCheck check_rms_norm(int64_t rows, int64_t width, uint64_t seed);

}  // namespace rexrag
