// Implements train_options.h.
#include "napi/train_options.h"

#include "napi/errors.h"

namespace rexrag::napi {
namespace {

double number_or(const Napi::Object& object, const char* key, const char* owner, double fallback) {
  return has_field(object, key) ? number_field(object, key, owner) : fallback;
}

}  // namespace

TrainerLossOptions read_loss(const Napi::Object& options) {
  TrainerLossOptions loss;
  if (!has_field(options, "loss")) return loss;
  Napi::Object o = options.Get("loss").As<Napi::Object>();
  loss.clip_low = number_or(o, "clipLow", "loss", loss.clip_low);
  loss.clip_high = number_or(o, "clipHigh", "loss", loss.clip_high);
  loss.dual_clip = number_or(o, "dualClip", "loss", loss.dual_clip);
  loss.kl_coef = number_or(o, "klCoef", "loss", loss.kl_coef);
  loss.entropy_coef = number_or(o, "entropyCoef", "loss", loss.entropy_coef);
  if (has_field(o, "klType")) loss.kl_type = string_field(o, "klType", "loss");
  if (has_field(o, "aggregation")) loss.aggregation = string_field(o, "aggregation", "loss");
  return loss;
}

OptimizerOptions read_optimizer(const Napi::Object& options) {
  OptimizerOptions opt;
  if (!has_field(options, "optimizer")) return opt;
  Napi::Object o = options.Get("optimizer").As<Napi::Object>();
  opt.lr = number_or(o, "lr", "optimizer", opt.lr);
  opt.beta1 = number_or(o, "beta1", "optimizer", opt.beta1);
  opt.beta2 = number_or(o, "beta2", "optimizer", opt.beta2);
  opt.eps = number_or(o, "eps", "optimizer", opt.eps);
  opt.weight_decay = number_or(o, "weightDecay", "optimizer", opt.weight_decay);
  opt.max_grad_norm = number_or(o, "maxGradNorm", "optimizer", opt.max_grad_norm);
  if (has_field(o, "schedule")) opt.schedule = string_field(o, "schedule", "optimizer");
  if (has_field(o, "warmupSteps")) opt.warmup_steps = integer_field(o, "warmupSteps", "optimizer");
  if (has_field(o, "totalSteps")) opt.total_steps = integer_field(o, "totalSteps", "optimizer");
  opt.min_lr_ratio = number_or(o, "minLrRatio", "optimizer", opt.min_lr_ratio);
  return opt;
}

Napi::Object metrics_object(Napi::Env env, const StepMetrics& m) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", m.loss);
  out.Set("pgLoss", m.pg_loss);
  out.Set("kl", m.kl);
  out.Set("entropy", m.entropy);
  out.Set("nll", m.nll);
  out.Set("clipFracHigh", m.clip_frac_high);
  out.Set("clipFracLow", m.clip_frac_low);
  out.Set("approxKl", m.approx_kl);
  out.Set("ratioMean", m.ratio_mean);
  out.Set("ratioMax", m.ratio_max);
  out.Set("gradNorm", m.grad_norm);
  out.Set("gradNormMax", m.grad_norm_max);
  out.Set("lr", m.lr);
  out.Set("updates", static_cast<double>(m.updates));
  out.Set("skippedUpdates", static_cast<double>(m.skipped_updates));
  out.Set("tokens", static_cast<double>(m.tokens));
  out.Set("microBatches", static_cast<double>(m.micro_batches));
  return out;
}

}  // namespace rexrag::napi
