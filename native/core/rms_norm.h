// RMSNorm, y = x / sqrt(mean(x²) + eps) · weight, as one pass over the rows forward and one backward (an autograd
// function), instead of ATen's six ops and their six backward ops, each a full pass over the activations. At the
// lab's shape (13,440 tokens x 128) a pass costs about as much as the arithmetic, so the count of passes is the
// cost. Float32 CPU tensors only; everything else takes HF's op-by-op expression (qwen2.cc).
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

/// Whether fused_rms_norm takes these operands: float32 CPU x (..., H) and weight (H), kernels not switched off
/// (REXRAG_KERNELS=aten).
bool fused_rms_norm_applies(const at::Tensor& x, const at::Tensor& weight);

/// weight · x · rsqrt(mean(x², -1) + eps), differentiable with respect to x and weight. Sums are float32 in a fixed
/// order (the weight's gradient over fixed blocks of rows), so results do not depend on the thread count.
at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace rexrag
