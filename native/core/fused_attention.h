// The attention of the training and scoring forward pass (whole sequences, no KV cache) as one kernel per
// (sequence, kv head): rotary embedding, scores, masked softmax and the weighted sum of values, forward and
// backward. ATen's form writes and reads the (B, heads, T, S) scores, probabilities and their gradients several
// times each and dispatches about twenty ops per layer; here a block of 64 queries' scores lives in L2 and is
// gone when the block is done. The backward pass recomputes the probabilities from the saved log-sum-exp of
// each query (as FlashAttention does) instead of keeping them, so a layer saves no (T, S) tensor at all.
// Queries are taken in blocks, and a block only reads the keys up to its last allowed one: causal masks skip
// most of the upper triangle.
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

/// Whether fused_attention runs for activations like x: float32 on the CPU with the AVX-512 products of
/// gemm_ab.h, autocast off, REXRAG_KERNELS unset. Otherwise the model's ATen form runs.
bool fused_attention_applies(const at::Tensor& x);

/// softmax(rot(q) rot(k)ᵀ / sqrt(D), masked by `allowed`) v, where rot is HF's rotary embedding with the tables
/// cos and sin (B, T, D); q (B, T, nH, D), k and v (B, T, nKV, D), allowed (B, T, T) bool (query t may attend
/// key s), query head h reading kv head h / (nH / nKV). Returns (B, T, nH·D), differentiable in q, k and v.
/// A query with no allowed key gets zeros (ATen's form gives it the mean of all values; neither is used).
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos,
                           const at::Tensor& sin, const at::Tensor& allowed);

}  // namespace rexrag
