// One GRPO training step in one call: for each epoch and mini-batch, micro-batches by a token budget with
// gradient accumulation, the clipped policy loss against the given behaviour log-probs, KL to a reference,
// gradient-norm clipping, AdamW, and an LR schedule that advances once per step. Non-finite losses or
// gradients skip the update and are counted. Data parallel over a c10d process group when one is set.
// Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.h"
#include "core/step_metrics.h"
#include "core/train_options.h"

namespace rexrag {

class ProcessGroup;

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
  // Data parallel (with a process group): these rows are this rank's share of a global batch of `global_rows`
  // rows, row r being global row global_index[r] (ascending). Empty / 0: the batch is the whole batch.
  std::vector<int64_t> global_index;
  int64_t global_rows = 0;
};

class Trainer {
 public:
  /// With `keep_reference`, a frozen copy of the policy's current weights computes reference log-probs.
  Trainer(std::shared_ptr<Policy> policy, const LossConfig& loss, const OptimizerOptions& optimizer,
          bool keep_reference);
  ~Trainer();

  /// With a process group (set_process_group), every rank calls step with its share of the same global batch:
  /// mini-batches, loss normalisers and the shuffle are those of the global batch, gradients are summed over the
  /// ranks before clipping and AdamW, and the metrics are the global batch's, so every rank applies the update
  /// one process would apply to the whole batch.
  StepMetrics step(const TrainBatch& batch, const StepOptions& options);
  /// Trains data-parallel over `group` from now on: broadcasts rank 0's parameters (and reference) to every rank.
  void set_process_group(std::shared_ptr<ProcessGroup> group);
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
