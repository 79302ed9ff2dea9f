// Test-only: the fused attention (fused_attention.h) against HF's op-by-op expression (rotary embedding, repeated
// kv heads, additive mask, softmax) in float64, with ATen's float32 error beside it as the yardstick. Nothing in
// the training path calls this.
#pragma once

#include <cstdint>

namespace rexrag {

/// Largest absolute differences from float64 of the output and of the gradients of Σ r·y (random r over the
/// queries that may attend some key) with respect to q, k and v, for random q, k, v of (batch, steps, heads or
/// kv_heads, head_dim) under a causal mask whose rows have left padding, right padding or none; the same for
/// ATen's float32 ops; and whether the fused pass gives the same bits on one thread as on several.
struct AttentionCheck {
  double output = 0, grad_q = 0, grad_k = 0, grad_v = 0;
  double aten_output = 0, aten_grad_q = 0, aten_grad_k = 0, aten_grad_v = 0;
  bool same_on_one_thread = false;
};
AttentionCheck check_fused_attention(int64_t batch, int64_t steps, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                     uint64_t seed);

}  // namespace rexrag
