// The decoder's forward pass for generation: the tokens of many rows packed one after another (a prefill of
// each row's new tokens and a decode step are the same call), keys and values kept in a paged cache, so no
// padding, masks or per-call cache copies. No autograd.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "core/kv_pages.h"
#include "core/paged_attention.h"
#include "core/qwen2.h"

namespace rexrag {

/// Runs `model` over `tokens` (each row's earlier positions already in `cache`), writes their keys and values
/// into the cache, and returns the final-normed hidden states of the tokens at indices `outputs`: (outputs, H).
at::Tensor packed_forward(Qwen2ForCausalLMImpl& model, const PackedTokens& tokens, const std::vector<int64_t>& outputs,
                          KVPages& cache);

}  // namespace rexrag
