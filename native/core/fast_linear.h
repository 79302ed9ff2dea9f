// The linear layers' products on our kernels where they apply (float32 on a CPU that has them): the forward on
// gemm.h's (or gemm_ab.h's as outer products over a short K), the backward's two products on gemm_ab.h's (or the
// input's gradient on gemm.h's), inside an autograd function; bfloat16 without gradients (the generation copy) on
// gemm_bf16.h's; ATen's otherwise (other dtypes and devices, autocast). Numerically the same products; only the
// order of the float32 sums differs.
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

/// a (M, K) · b (N, K)ᵀ -> (M, N), no autograd: for code that is already inside a backward pass or under no-grad.
at::Tensor matmul_abt(const at::Tensor& a, const at::Tensor& b);

/// The backward products of y = x Wᵀ for g = dL/dy (M, N), x (M, K), weight (N, K): g·W -> (M, K) and
/// gᵀ·x -> (N, K), on the kernel where it applies and at::mm otherwise.
at::Tensor linear_grad_input(const at::Tensor& g, const at::Tensor& weight);
at::Tensor linear_grad_weight(const at::Tensor& g, const at::Tensor& x);
/// The same products added into `out` (no temporary on the kernel's path).
void add_linear_grad_input(at::Tensor& out, const at::Tensor& g, const at::Tensor& weight);
void add_linear_grad_weight(at::Tensor& out, const at::Tensor& g, const at::Tensor& x);

/// at::linear(x, weight, bias): x (..., K), weight (N, K), bias (N) or undefined -> (..., N), differentiable.
at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace rexrag
