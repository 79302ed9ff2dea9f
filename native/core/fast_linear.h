// The linear layers' products on gemm.h's kernel where it applies (float32 on a CPU that has it), inside an
// autograd function whose backward pass stays on BLAS, and ATen's otherwise (other dtypes and devices,
// autocast). Numerically the same products; only the order of the float32 sums differs from the BLAS's.
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

/// a (M, K) · b (N, K)ᵀ -> (M, N), no autograd: for code that is already inside a backward pass or under no-grad.
at::Tensor matmul_abt(const at::Tensor& a, const at::Tensor& b);

/// at::linear(x, weight, bias): x (..., K), weight (N, K), bias (N) or undefined -> (..., N), differentiable.
at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace rexrag
