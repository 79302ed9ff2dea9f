// Reading the trainer's option objects from JS and writing its metrics back, shared by the Trainer class and
// the test-only checks.
#pragma once

#include <napi.h>

#include "core/trainer.h"

namespace rexrag::napi {

/// options.loss (absent: the defaults).
TrainerLossOptions read_loss(const Napi::Object& options);
/// options.optimizer (absent: the defaults).
OptimizerOptions read_optimizer(const Napi::Object& options);
/// The step metrics as a plain object.
Napi::Object metrics_object(Napi::Env env, const StepMetrics& metrics);

}  // namespace rexrag::napi
