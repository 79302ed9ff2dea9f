// One GRPO training step in one call: for each epoch and mini-batch, micro-batches by a token budget with
// gradient accumulation, the clipped policy loss against the given behaviour log-probs, KL to a reference,
// gradient-norm clipping, AdamW, and an LR schedule that advances once per step. Non-finite losses or
// gradients skip the update and are counted. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.h"

namespace rexrag {

struct TrainerLossOptions {
  double clip_low = 0.2, clip_high = 0.2, dual_clip = 0.0;
  std::string kl_type = "k3";
  double kl_coef = 0.001;
  double entropy_coef = 0.0;
  std::string aggregation = "token-mean";
};

struct OptimizerOptions {
  double lr = 1e-6, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  double max_grad_norm = 1.0;           // <= 0: no clipping
  std::string schedule = "constant";    // "constant" (with linear warmup) or "cosine"
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;              // cosine only
  double min_lr_ratio = 0.0;            // cosine floor as a fraction of lr
};

/// Rows concatenated; every per-token array is aligned with `ids`.
struct TrainBatch {
  std::vector<int32_t> ids;
  std::vector<int64_t> lengths;
  std::vector<float> loss_mask;        // 1: trained (model and probe-prompt tokens); a row's first token must be 0
  std::vector<float> behaviour_logps;  // log-prob the ratio is taken against; empty: the current log-probs
                                       // (on-policy: ratio 1 on every update, e.g. supervised warm-up)
  std::vector<float> ref_logps;        // empty: computed from the trainer's frozen reference copy
  std::vector<float> advantages;
};

struct StepOptions {
  int64_t mini_batches = 1;          // optimizer updates per epoch
  int64_t epochs = 1;
  int64_t micro_batch_tokens = 8192;  // padded tokens per forward/backward pass
  int64_t logit_chunk = 1024;         // rows per LM-head pass (the vocabulary is sliced: <= 16M logits at once)
  bool shuffle = false;
  uint64_t seed = 0;
};

struct StepMetrics {
  double loss = 0, pg_loss = 0, kl = 0, entropy = 0, nll = 0;
  double clip_frac_high = 0, clip_frac_low = 0, approx_kl = 0, ratio_mean = 0, ratio_max = 0;
  double grad_norm = 0, grad_norm_max = 0, lr = 0;
  int64_t updates = 0, skipped_updates = 0, tokens = 0, micro_batches = 0;
};

class Trainer {
 public:
  /// With `keep_reference`, a frozen copy of the policy's current weights computes reference log-probs.
  Trainer(std::shared_ptr<Policy> policy, const TrainerLossOptions& loss, const OptimizerOptions& optimizer,
          bool keep_reference);
  ~Trainer();

  StepMetrics step(const TrainBatch& batch, const StepOptions& options);
  /// Reference-model log-probs of rows (teacher-forced), like Policy::score.
  Policy::ScoreResult reference_score(const Policy::ScoreRequest& request);
  double lr_at(int64_t step) const;
  int64_t steps_done() const;
  bool has_reference() const;

  /// Optimizer moments, update counts and the step counter, as one safetensors file (atomic).
  void save_state(const std::string& path) const;
  /// Restores what save_state wrote; every tensor must match this policy's parameters by name and shape.
  void load_state(const std::vector<struct WeightFile>& files);
  /// Writes / reads the frozen reference weights (safetensors).
  void save_reference(const std::string& path) const;
  void load_reference(const std::vector<struct WeightFile>& files);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rexrag
