// Grouped-query attention in one pass for decoding: for each (row, head,
// query) the scores against the allowed keys, their softmax and the weighted sum of values, read straight from
// the KV cache's strided storage. ATen's path does the same with two batched matmuls, which on the CPU become one
// small BLAS call per (row, head), each packing its operands: at decode time, with 80 rows, that packing was a
// tenth of a rollout. Training keeps ATen's differentiable path.
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

/// Whether fused_attention takes these operands: float32 CPU tensors, no autograd, last dimension contiguous, and
/// at most a few queries per row (decoding; longer prefills and scoring are faster on ATen's batched matmuls).
bool fused_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

/// q (B, nH, T, D), k and v (B, nKV, S, D) with nH a multiple of nKV (query head h reads kv head h / (nH / nKV)),
/// bias (B, 1, 1, T, S) additive mask whose masked entries are <= -1e29: softmax(q kᵀ / sqrt(D) + bias) v as
/// (B, T, nH·D). A query with no allowed key gets the mean of the values, as the additive mask gives in ATen.
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias);

}  // namespace rexrag
