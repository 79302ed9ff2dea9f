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

/// fast_linear against a float64 reference on random inputs (rows x in -> out, with or without a bias): the
/// largest absolute differences of the output and of the three gradients (loss Σ r·y for a random r), the same
/// for at::linear in float32 as the yardstick, and whether the kernels' output and the backward's two products
/// (linear_grad_input, linear_grad_weight) are bit-identical on 1 thread and on 2.
struct LinearCheck {
  double output = 0, grad_input = 0, grad_weight = 0, grad_bias = 0;
  double aten_output = 0, aten_grad_input = 0, aten_grad_weight = 0;
  bool same_on_one_thread = false, same_gradients_on_one_thread = false;
};
LinearCheck check_fast_linear(int64_t rows, int64_t in_features, int64_t out_features, bool with_bias,
                              uint64_t seed);

/// fast_linear on bfloat16 operands without gradients (the bfloat16 generation copy's path) against the float64
/// product of the same bfloat16 values: the largest difference relative to the largest |output|, at::linear's in
/// bfloat16 as the yardstick, whether the output is bit-identical on 1 thread and on 2, and whether the
/// bfloat16 kernel ran (false on CPUs without AVX512-BF16, where at::linear runs for both).
struct Bf16LinearCheck {
  double output = 0, aten_output = 0;
  bool same_on_one_thread = false, kernel = false;
};
Bf16LinearCheck check_bf16_linear(int64_t rows, int64_t in_features, int64_t out_features, bool with_bias,
                                  uint64_t seed);

}  // namespace rexrag
