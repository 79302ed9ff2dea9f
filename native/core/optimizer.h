// The optimizer half of a training step: torch.optim.AdamW's update for one tensor, the gradient norm, and the
// learning-rate schedule (linear warmup, then constant or cosine). Which tensors to update and when is the
// trainer's business.
#pragma once

#include <ATen/ATen.h>

#include "core/trainer.h"

namespace rexrag {

/// torch.optim.AdamW for one tensor (no amsgrad): decoupled decay, then the bias-corrected Adam step.
/// `step` is the 1-based update count; everything is updated in place.
void adamw_tensor(at::Tensor& param, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                  int64_t step, const OptimizerOptions& options, double lr);

/// The trainer's update: AdamW on `param` with the gradient `grad`·`grad_scale` (an undefined grad counts as
/// zeros). Float32 contiguous CPU tensors take one fused pass (each value read and written once, no temporaries);
/// anything else (another device or dtype) goes through adamw_tensor on float copies.
void adamw_update(at::Tensor& param, const at::Tensor& grad, double grad_scale, at::Tensor& exp_avg,
                  at::Tensor& exp_avg_sq, int64_t step, const OptimizerOptions& options, double lr);

/// Σ x² over a tensor, accumulated in double; on float32 contiguous CPU tensors without a squared copy and in a
/// fixed block order, so the result does not depend on the number of threads.
double squared_norm(const at::Tensor& values);

/// The learning rate at training step `step` (0-based): verl / HF warmup (factor step / warmup, so step 0 has
/// lr 0), then constant, or cosine from lr down to lr·min_lr_ratio at total_steps.
double scheduled_lr(const OptimizerOptions& options, int64_t step);

}  // namespace rexrag
