// Torch-side state behind Policy, shared by the generation session and the trainer.
#pragma once

#include <ATen/ATen.h>

#include "core/qwen2.h"

namespace rexrag {

struct PolicyState {
  Qwen2ForCausalLM model{nullptr};
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;

  // Generation may run on a copy of the weights in another dtype (e.g. bfloat16 rollouts, float32 training), as
  // RL systems do with a separate rollout engine. The copy is refreshed lazily when the weights changed.
  at::ScalarType generation_dtype = at::kFloat;
  Qwen2ForCausalLM generation_copy{nullptr};
  uint64_t version = 0;             // bumped whenever the weights change
  uint64_t generation_version = 0;  // the version the copy holds

  /// The model to generate with: the weights themselves, or the up-to-date copy in generation_dtype.
  Qwen2ForCausalLMImpl& for_generation();
};

/// Parses "float32" / "bfloat16" (and "float16") or throws InvalidArgument.
at::ScalarType compute_dtype(const std::string& name);

/// Key mask (B, T, T) for right- or left-padded rows: causal and only real tokens. valid (B, T) bool.
at::Tensor causal_key_mask(const at::Tensor& valid);

/// Position ids (B, T) from a validity mask: 0,1,2... over real tokens, 0 on padding.
at::Tensor positions_from_mask(const at::Tensor& valid);

}  // namespace rexrag
