// Torch-side state behind Policy, shared by the generation session and the trainer.
#pragma once

#include <ATen/ATen.h>

#include "core/qwen2.h"

namespace rexrag {

struct PolicyState {
  Qwen2ForCausalLM model{nullptr};
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
};

/// Parses "float32" / "bfloat16" (and "float16") or throws InvalidArgument.
at::ScalarType compute_dtype(const std::string& name);

/// Key mask (B, T, T) for right- or left-padded rows: causal and only real tokens. valid (B, T) bool.
at::Tensor causal_key_mask(const at::Tensor& valid);

/// Position ids (B, T) from a validity mask: 0,1,2... over real tokens, 0 on padding.
at::Tensor positions_from_mask(const at::Tensor& valid);

}  // namespace rexrag
