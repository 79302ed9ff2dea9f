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
#include "core/step_metrics.h"
#include "core/train_options.h"

namespace rexrag {

/// Rows concatenated; every per-token array is aligned with `ids`.
struct TrainBatch {
  std::vector<int32_t> ids;
  std::vector<int64_t> lengths;
  std::vector<float> loss_mask;        // 1: trained (model and probe-prompt tokens); a row's first token must be 0
  std::vector<float> behaviour_logps;  // log-prob the ratio is taken against; empty: the current log-probs
                                       // (on-policy: ratio 1 on every update, e.g. supervised warm-up)
  std::vector<float> ref_logps;        // empty: computed from the trainer's frozen reference copy
  std::vector<float> advantages;
  std::vector<uint8_t> token_kinds;    // empty, or each token's index into kTokenKindNames (per-kind diagnostics)
  std::vector<uint8_t> sequence_ratio; // empty, or per row: 1 → one ratio for the whole row (policy_loss.h)
};

class Trainer {
 public:
  /// With `keep_reference`, a frozen copy of the policy's current weights computes reference log-probs.
  Trainer(std::shared_ptr<Policy> policy, const LossConfig& loss, const OptimizerOptions& optimizer,
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
