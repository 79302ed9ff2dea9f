// Reading the trainer's option objects from JS (every field required: they come from zod-parsed configs) and
// writing its metrics back; shared by the Trainer class and the test-only checks.
#pragma once

#include <napi.h>

#include "core/trainer.h"
#include "napi/errors.h"

namespace rexrag::napi {

/// A loss config (lossConfigSchema): string options become enums here.
LossConfig read_loss(const Fields& loss);
/// An optimizer config (optimizerConfigSchema).
OptimizerOptions read_optimizer(const Fields& optimizer);
/// A step config (stepConfigSchema).
StepOptions read_step(const Fields& step);
/// The step metrics as a plain object keyed by kStepMetricNames, in its order.
Napi::Object metrics_object(Napi::Env env, const StepMetrics& metrics);
/// The names of kStepMetricNames, kTokenKindNames and kKindMetricNames, in order (exported for the TS tests).
Napi::Array metric_names(Napi::Env env);
Napi::Array kind_names(Napi::Env env);
Napi::Array kind_metric_names(Napi::Env env);

}  // namespace rexrag::napi
