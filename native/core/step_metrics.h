// What one training step reports, and the one table of the names JS sees for it (slash-named, the same keys the
// RL loop writes to metrics.jsonl). lib/native-types.ts lists the same names in the same order. Torch-free.
#pragma once

#include <utility>
#include <vector>

namespace rexrag {

/// Diagnostics over the step's loss tokens of one kind (REX-RAG: original, probe prefix / prompt / continuation).
struct KindMetrics {
  double ratio_mean = 0, ratio_max = 0, ratio_min = 0;  // r = π_θ / behaviour
  double clip_frac_high = 0, clip_frac_low = 0;
  double approx_kl = 0;       // mean −log r
  double kl_k3 = 0;           // mean k3 estimate of KL(π_θ ‖ π_ref); 0 when the loss has no KL term
  double advantage_mean = 0;
  double tokens = 0;
};

/// Token kinds, by the value a batch's tokenKinds holds (the index), as named in metric keys.
inline constexpr const char* kTokenKindNames[] = {"original", "probe_prefix", "probe_prompt", "probe_continuation"};

/// Per-kind metrics, reported as train/<kind>/<name>.
inline constexpr std::pair<const char*, double KindMetrics::*> kKindMetricNames[] = {
    {"ratio_mean", &KindMetrics::ratio_mean},
    {"ratio_max", &KindMetrics::ratio_max},
    {"ratio_min", &KindMetrics::ratio_min},
    {"clip_frac_high", &KindMetrics::clip_frac_high},
    {"clip_frac_low", &KindMetrics::clip_frac_low},
    {"approx_kl", &KindMetrics::approx_kl},
    {"kl_k3", &KindMetrics::kl_k3},
    {"advantage_mean", &KindMetrics::advantage_mean},
    {"tokens", &KindMetrics::tokens},
};

/// Means are over the step's loss tokens; grad_norm is the mean over updates. Counters are whole numbers.
struct StepMetrics {
  double loss = 0, pg_loss = 0, kl = 0, entropy = 0, nll = 0;
  double clip_frac_high = 0, clip_frac_low = 0, approx_kl = 0, ratio_mean = 0, ratio_max = 0;
  double grad_norm = 0, lr = 0, skipped_updates = 0, tokens = 0;
  double updates = 0, micro_batches = 0, grad_norm_max = 0;
  std::vector<KindMetrics> kinds;  // one per kTokenKindNames when the batch had token kinds, else empty
};

/// Every metric's name, in the order the step reports them.
inline constexpr std::pair<const char*, double StepMetrics::*> kStepMetricNames[] = {
    {"train/loss", &StepMetrics::loss},
    {"train/pg_loss", &StepMetrics::pg_loss},
    {"train/kl", &StepMetrics::kl},
    {"train/entropy", &StepMetrics::entropy},
    {"train/nll", &StepMetrics::nll},
    {"train/clip_frac_high", &StepMetrics::clip_frac_high},
    {"train/clip_frac_low", &StepMetrics::clip_frac_low},
    {"train/approx_kl", &StepMetrics::approx_kl},
    {"train/ratio_mean", &StepMetrics::ratio_mean},
    {"train/ratio_max", &StepMetrics::ratio_max},
    {"train/grad_norm", &StepMetrics::grad_norm},
    {"train/lr", &StepMetrics::lr},
    {"train/skipped_updates", &StepMetrics::skipped_updates},
    {"train/tokens", &StepMetrics::tokens},
    {"train/updates", &StepMetrics::updates},
    {"train/micro_batches", &StepMetrics::micro_batches},
    {"train/grad_norm_max", &StepMetrics::grad_norm_max},
};

}  // namespace rexrag
