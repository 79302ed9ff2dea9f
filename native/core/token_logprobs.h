// log p(target) and the entropy of each predicting distribution, straight from hidden states and the LM head
// matrix, in chunks of rows: neither the forward nor the backward pass ever holds an (N, V) tensor for more
// than `chunk` rows. The backward pass recomputes each chunk's logits instead of saving them.
#pragma once

#include <ATen/ATen.h>

#include <utility>

namespace rexrag {

/// hidden (N, H), weight (V, H), targets (N) int64 -> {logp (N), entropy (N)}, both float32.
/// Differentiable with respect to hidden and weight (both outputs).
std::pair<at::Tensor, at::Tensor> token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& targets, int64_t chunk);

}  // namespace rexrag
