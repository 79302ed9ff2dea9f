// log p(target) and the entropy of each predicting distribution p = softmax(z / temperature), z = hidden · Wᵀ,
// straight from hidden states and the LM head matrix, in chunks of `chunk` rows and slices of the vocabulary: neither pass ever holds more than 16M logits
// (64 MiB), whatever N and V are. The backward pass recomputes each slice's logits instead of saving them.
#pragma once

#include <ATen/ATen.h>

#include <utility>

namespace rexrag {

/// hidden (N, H), weight (V, H), targets (N) int64 -> {logp (N), entropy (N)}, both float32, under
/// softmax(z / temperature) (the distribution tokens sampled at that temperature came from; 1: the model's).
/// Differentiable with respect to hidden and weight (both outputs). Without `with_entropy` the entropy is not
/// computed (zeros, not differentiable), which saves two passes over each chunk's logits.
/// `max_logits` bounds the logits held at once (default 16M = 64 MiB of float32). Under an enabled autocast
/// (autocast.h) the two passes' matmuls run in autocast's dtype; the outputs and gradients are still float32.
std::pair<at::Tensor, at::Tensor> token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& targets, int64_t chunk, double temperature,
                                                 bool with_entropy = true, int64_t max_logits = int64_t{1} << 24);

}  // namespace rexrag
