// Test-only entry points: the trainer's kernels run on plain arrays, so tests can compare them with slow, obvious
// references (test/helpers). Nothing in the training path calls these.
#pragma once

#include <cstdint>
#include <vector>

#include "core/trainer.h"

namespace rexrag {

/// Policy-loss kernel on given per-token values (one micro-batch holding the whole mini-batch): the loss, the
/// metrics and the gradient with respect to logps and entropies.
struct LossCheck {
  double loss = 0;
  StepMetrics metrics;
  std::vector<float> grad_logps, grad_entropies;
};
LossCheck check_policy_loss(const std::vector<float>& logps, const std::vector<float>& entropies,
                            const std::vector<float>& behaviour, const std::vector<float>& ref,
                            const std::vector<float>& advantages, const std::vector<float>& loss_mask,
                            const std::vector<int64_t>& lengths, const LossConfig& config);

/// One AdamW update on plain arrays with the trainer's own update code (torch.optim.AdamW semantics) of the
/// gradient grads·grad_scale: the fused CPU pass (adamw_update) when `fused`, else the ATen ops (adamw_tensor).
void adamw_update_arrays(std::vector<float>& params, const std::vector<float>& grads, double grad_scale,
                         std::vector<float>& exp_avg, std::vector<float>& exp_avg_sq, int64_t step,
                         const OptimizerOptions& options, double lr, bool fused);

/// Largest differences between token_logprobs and plain autograd (matmul, log_softmax, gather, entropy) on random
/// inputs, for the loss d = Σ w_i·logp_i + entropy_weight·Σ u_i·H_i with random w, u, at a temperature (the plain
/// side divides the logits by it): the kernel's reference check.
struct TokenLogprobCheck {
  double logp = 0, entropy = 0, grad_hidden = 0, grad_weight = 0;
};
TokenLogprobCheck check_token_logprobs(int64_t rows, int64_t hidden, int64_t vocab, int64_t chunk,
                                       double entropy_weight, uint64_t seed, int64_t max_logits, double temperature);

}  // namespace rexrag
