// One-pass CPU loops for the elementwise parts of a generation forward pass, on float32 rows: rotary embedding
// in place and SwiGLU's silu(gate)·up (RMSNorm is rms_norm.h). Each replaces a handful of ATen ops (and their
// temporaries), which is what a decode step of a small model or a small batch spends its time on.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace rexrag {

/// Whether the loops take these tensors: contiguous float32 on the CPU, kernels not switched off.
bool row_ops_apply(const std::vector<at::Tensor>& tensors);

/// HF rotary embedding, in place on x (N, heads, D): angle i of token t is positions[t] · inv_freq[i].
void rotate_in_place(at::Tensor& x, const std::vector<int64_t>& positions, const at::Tensor& inv_freq);

/// gate <- silu(gate) · up, in place; both (N, I).
void silu_mul_in_place(at::Tensor& gate, const at::Tensor& up);

}  // namespace rexrag
