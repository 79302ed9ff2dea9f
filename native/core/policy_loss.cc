// Implements policy_loss.h.
#include "core/policy_loss.h"

#include <algorithm>

namespace rexrag {

LossOutput policy_loss(const LossInputs& in, const LossConfig& config, const LossNormaliser& normaliser) {
  LossOutput out;
  const at::Tensor& advantages = in.advantages;
  at::Tensor log_ratio = in.logp - in.behaviour;                                      // (N,)
  if (in.sequence.defined()) {
    at::Tensor sums = at::zeros({in.rows}, log_ratio.options()).index_add(0, in.row, log_ratio);  // (R,)
    at::Tensor counts = at::zeros({in.rows}, log_ratio.options()).index_add(0, in.row, at::ones_like(log_ratio));
    at::Tensor row_mean = (sums / counts.clamp_min(1.0)).index_select(0, in.row);  // (N,)
    log_ratio = at::where(in.sequence, row_mean, log_ratio);
  }
  at::Tensor ratio = log_ratio.exp();                                                 // (N,)
  at::Tensor pg_unclipped = -advantages * ratio;
  at::Tensor pg_clipped = -advantages * ratio.clamp(1.0 - config.clip_low, 1.0 + config.clip_high);
  at::Tensor pg = at::maximum(pg_unclipped, pg_clipped);
  if (config.dual_clip > 1) {
    // For A < 0, bound the loss by −A·c so a huge ratio cannot dominate (dual-clip PPO).
    pg = at::where(advantages < 0, at::minimum(pg, -advantages * config.dual_clip), pg);
  }
  at::Tensor token_loss = pg;
  at::Tensor kl;
  if (config.kl_type != KlType::None) {
    at::Tensor diff = in.logp - in.ref;
    switch (config.kl_type) {
      case KlType::K1: kl = diff; break;
      case KlType::K2: kl = 0.5 * diff.pow(2); break;
      default: kl = k3_kl(diff);
    }
    token_loss = token_loss + config.kl_coef * kl;
  }
  if (config.entropy_coef != 0) token_loss = token_loss - config.entropy_coef * in.entropy;

  const double tokens = static_cast<double>(in.logp.size(0));
  switch (config.aggregation) {
    case Aggregation::TokenMean:
      out.loss = token_loss.sum() / std::max(normaliser.tokens, 1.0);
      break;
    case Aggregation::SeqMeanTokenSum:
    case Aggregation::SeqMeanTokenMean: {
      at::Tensor per_row = at::zeros({in.rows}, token_loss.options()).index_add(0, in.row, token_loss);  // (R,)
      if (config.aggregation == Aggregation::SeqMeanTokenMean) {
        at::Tensor counts = at::zeros({in.rows}, token_loss.options())
                                .index_add(0, in.row, at::ones_like(token_loss));  // (R,)
        per_row = per_row / counts.clamp_min(1.0);  // rows without loss tokens contribute 0
      }
      out.loss = per_row.sum() / std::max(normaliser.rows, 1.0);
      break;
    }
  }

  at::NoGradGuard no_grad;
  LossSums& s = out.sums;
  s.tokens = tokens;
  if (tokens == 0) return out;
  s.pg = pg.sum().item<double>();
  s.neg_logp = -in.logp.sum().item<double>();
  if (kl.defined()) s.kl = kl.sum().item<double>();
  if (in.entropy.defined()) s.entropy = in.entropy.sum().item<double>();
  at::Tensor clipped = pg_clipped > pg_unclipped;  // the clipped branch is the active one
  out.clipped_high = clipped & (ratio > 1.0 + config.clip_high);
  out.clipped_low = clipped & (ratio < 1.0 - config.clip_low);
  out.ratio = ratio.detach();
  out.log_ratio = log_ratio.detach();
  s.clipped_high = out.clipped_high.sum().item<double>();
  s.clipped_low = out.clipped_low.sum().item<double>();
  s.approx_kl = (-log_ratio).sum().item<double>();
  s.ratio = ratio.sum().item<double>();
  s.ratio_max = ratio.max().item<double>();
  return out;
}

at::Tensor k3_kl(const at::Tensor& diff) {
  at::Tensor d = (-diff).clamp(-20.0, 20.0);
  return (d.exp() - d - 1.0).clamp(-10.0, 10.0);
}

void add_kind_sums(const at::Tensor& kinds, const LossInputs& in, const LossOutput& out,
                   std::vector<KindSums>& sums) {
  at::NoGradGuard no_grad;
  at::Tensor k3 = in.ref.defined() ? k3_kl(in.logp.detach() - in.ref) : at::Tensor();  // (N,)
  for (size_t k = 0; k < sums.size(); ++k) {
    at::Tensor mask = kinds == static_cast<int64_t>(k);  // (N,)
    const double tokens = mask.sum().item<double>();
    if (tokens == 0) continue;
    KindSums& s = sums[k];
    at::Tensor ratio = out.ratio.masked_select(mask);
    s.tokens += tokens;
    s.ratio += ratio.sum().item<double>();
    s.ratio_max = std::max(s.ratio_max, ratio.max().item<double>());
    s.ratio_min = std::min(s.ratio_min, ratio.min().item<double>());
    s.clipped_high += out.clipped_high.masked_select(mask).sum().item<double>();
    s.clipped_low += out.clipped_low.masked_select(mask).sum().item<double>();
    s.approx_kl -= out.log_ratio.masked_select(mask).sum().item<double>();
    if (k3.defined()) s.kl_k3 += k3.masked_select(mask).sum().item<double>();
    s.advantage += in.advantages.masked_select(mask).sum().item<double>();
  }
}

KindMetrics kind_means(const KindSums& s) {
  KindMetrics m;
  if (s.tokens == 0) return m;
  m.tokens = s.tokens;
  m.ratio_mean = s.ratio / s.tokens;
  m.ratio_max = s.ratio_max;
  m.ratio_min = s.ratio_min;
  m.clip_frac_high = s.clipped_high / s.tokens;
  m.clip_frac_low = s.clipped_low / s.tokens;
  m.approx_kl = s.approx_kl / s.tokens;
  m.kl_k3 = s.kl_k3 / s.tokens;
  m.advantage_mean = s.advantage / s.tokens;
  return m;
}

void LossSums::add(const LossSums& other) {
  tokens += other.tokens;
  pg += other.pg;
  neg_logp += other.neg_logp;
  kl += other.kl;
  entropy += other.entropy;
  clipped_high += other.clipped_high;
  clipped_low += other.clipped_low;
  approx_kl += other.approx_kl;
  ratio += other.ratio;
  ratio_max = std::max(ratio_max, other.ratio_max);
}

void loss_means(const LossSums& sums, StepMetrics& metrics) {
  const double tokens = std::max(sums.tokens, 1.0);
  metrics.tokens = sums.tokens;
  metrics.pg_loss = sums.pg / tokens;
  metrics.nll = sums.neg_logp / tokens;
  metrics.kl = sums.kl / tokens;
  metrics.entropy = sums.entropy / tokens;
  metrics.clip_frac_high = sums.clipped_high / tokens;
  metrics.clip_frac_low = sums.clipped_low / tokens;
  metrics.approx_kl = sums.approx_kl / tokens;
  metrics.ratio_mean = sums.ratio / tokens;
  metrics.ratio_max = sums.ratio_max;
}

}  // namespace rexrag
