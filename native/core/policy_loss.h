// The per-token GRPO / PPO objective as small pure tensor functions (verl core_algos semantics):
//   r = exp(logp − behaviourLogp)
//   pg = max(−A·r, −A·clip(r, 1 − clipLow, 1 + clipHigh));  dual clip (A < 0): min(pg, −A·c)
//   kl (k1) = logp − ref;  (k2) = ½(logp − ref)²;  (k3, "low_var_kl") d = clamp(ref − logp, ±20),
//        kl = clamp(eᵈ − d − 1, ±10)
//   ℓ = pg + klCoef·kl − entropyCoef·entropy, aggregated over the loss tokens of a mini-batch.
// The behaviour log-prob is whatever the ratio is taken against: π_old for GRPO, log β_t for REX-RAG.
// Rows flagged sequence-level share one ratio over their loss tokens, the length-normalised sequence weight
//   r_seq = exp(mean_t (logp_t − behaviour_t))   (the geometric mean of the token ratios, as GSPO),
// clipped like a token ratio; gradients reach every token of the row through the mean.
#pragma once

#include <ATen/ATen.h>

#include <limits>
#include <vector>

#include "core/trainer.h"

namespace rexrag {

/// Per-token inputs of one micro-batch, all (N,) over its loss tokens only.
struct LossInputs {
  at::Tensor logp;        // differentiable
  at::Tensor entropy;     // differentiable; may be undefined when entropy_coef is 0 and no metric is wanted
  at::Tensor behaviour;   // log-prob the ratio is taken against
  at::Tensor ref;         // reference log-prob; undefined when kl_type is None
  at::Tensor advantages;
  at::Tensor row;         // int64 index of each token's row within the micro-batch
  int64_t rows = 0;       // rows in the micro-batch
  at::Tensor sequence;    // bool per token, or undefined: tokens of rows whose ratio is one per sequence
};

/// Totals of the whole mini-batch, so per-micro-batch losses add up exactly to the mini-batch aggregate.
struct LossNormaliser {
  double tokens = 0;  // loss tokens
  double rows = 0;    // rows with at least one loss token
};

/// Sums over the micro-batch's tokens, for metrics; divide by token counts at the end.
struct LossSums {
  double tokens = 0, pg = 0, kl = 0, entropy = 0, clipped_high = 0, clipped_low = 0, approx_kl = 0, ratio = 0;
  double neg_logp = 0;  // Σ −log π_θ: the negative log-likelihood of the trained tokens
  double ratio_max = 0;

  /// Adds another micro-batch's sums (the maximum for ratio_max).
  void add(const LossSums& other);
};

struct LossOutput {
  at::Tensor loss;  // scalar, differentiable: this micro-batch's share of the mini-batch loss
  LossSums sums;
  // Per token (N,), without gradients, for diagnostics; undefined when the micro-batch has no tokens.
  at::Tensor ratio, log_ratio;
  at::Tensor clipped_high, clipped_low;  // bool: the clipped branch is active above / below the clip range
};

LossOutput policy_loss(const LossInputs& inputs, const LossConfig& config, const LossNormaliser& normaliser);

/// k3 ("low_var_kl") per token from diff = logp − ref: d = clamp(−diff, ±20), clamp(eᵈ − d − 1, ±10).
at::Tensor k3_kl(const at::Tensor& diff);

/// Per-token-kind sums over loss tokens, for the per-kind diagnostics (KindMetrics).
struct KindSums {
  double tokens = 0, ratio = 0, clipped_high = 0, clipped_low = 0, approx_kl = 0, kl_k3 = 0, advantage = 0;
  double ratio_max = -std::numeric_limits<double>::infinity();
  double ratio_min = std::numeric_limits<double>::infinity();
};

/// Adds a micro-batch's loss tokens to the sums of their kinds; `kinds` (N,) int64 indexes `sums`.
void add_kind_sums(const at::Tensor& kinds, const LossInputs& inputs, const LossOutput& output,
                   std::vector<KindSums>& sums);

/// One kind's means (all 0 when it had no tokens).
KindMetrics kind_means(const KindSums& sums);

/// Per-token means of the sums (over max(tokens, 1)) into the loss metrics, and the token count.
void loss_means(const LossSums& sums, StepMetrics& metrics);

}  // namespace rexrag
