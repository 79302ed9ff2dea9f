// Implements train_options.h.
#include "napi/train_options.h"

#include "napi/errors.h"

namespace rexrag::napi {

LossConfig read_loss(const Fields& loss) {
  LossConfig out;
  loss.read_into<LossConfig, double>(out, {{"clipLow", &LossConfig::clip_low}, {"clipHigh", &LossConfig::clip_high},
                                       {"dualClip", &LossConfig::dual_clip}, {"klCoef", &LossConfig::kl_coef},
                                       {"entropyCoef", &LossConfig::entropy_coef},
                                       {"temperature", &LossConfig::temperature}});
  out.kl_type = loss.choice<KlType>("klType", {{"none", KlType::None}, {"k1", KlType::K1}, {"k2", KlType::K2},
                                               {"k3", KlType::K3}});
  out.aggregation = loss.choice<Aggregation>("aggregation", {{"token-mean", Aggregation::TokenMean},
                                                             {"seq-mean-token-sum", Aggregation::SeqMeanTokenSum},
                                                             {"seq-mean-token-mean", Aggregation::SeqMeanTokenMean}});
  return out;
}

OptimizerOptions read_optimizer(const Fields& optimizer) {
  OptimizerOptions out;
  optimizer.read_into<OptimizerOptions, double>(
      out,
      {{"lr", &OptimizerOptions::lr}, {"beta1", &OptimizerOptions::beta1}, {"beta2", &OptimizerOptions::beta2},
       {"eps", &OptimizerOptions::eps}, {"weightDecay", &OptimizerOptions::weight_decay},
       {"maxGradNorm", &OptimizerOptions::max_grad_norm}, {"minLrRatio", &OptimizerOptions::min_lr_ratio}});
  out.schedule = optimizer.choice<Schedule>("schedule", {{"constant", Schedule::Constant}, {"cosine", Schedule::Cosine}});
  out.warmup_steps = optimizer.integer("warmupSteps");
  out.total_steps = optimizer.integer("totalSteps");
  return out;
}

StepOptions read_step(const Fields& step) {
  StepOptions out;
  out.mini_batch_size = step.integer("miniBatchSize");
  out.epochs = step.integer("epochs");
  out.micro_batch_tokens = step.integer("microBatchTokens");
  out.logit_chunk = step.integer("logitChunk");
  out.shuffle = step.boolean("shuffle");
  out.seed = static_cast<uint64_t>(step.integer("seed"));
  out.recompute = step.boolean("recompute");
  out.autocast = step.choice<Autocast>("autocast", {{"off", Autocast::Off}, {"bfloat16", Autocast::BFloat16}});
  return out;
}

Napi::Object metrics_object(Napi::Env env, const StepMetrics& metrics) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, field] : kStepMetricNames) out.Set(name, metrics.*field);
  for (size_t kind = 0; kind < metrics.kinds.size(); ++kind) {
    const std::string prefix = std::string("train/") + kTokenKindNames[kind] + "/";
    for (const auto& [name, field] : kKindMetricNames) out.Set(prefix + name, metrics.kinds[kind].*field);
  }
  return out;
}

namespace {

template <typename Table, typename Name>
Napi::Array names_of(Napi::Env env, const Table& table, Name name) {
  Napi::Array out = Napi::Array::New(env);
  for (const auto& entry : table) out.Set(out.Length(), name(entry));
  return out;
}

}  // namespace

Napi::Array metric_names(Napi::Env env) {
  return names_of(env, kStepMetricNames, [](const auto& entry) { return entry.first; });
}
Napi::Array kind_names(Napi::Env env) {
  return names_of(env, kTokenKindNames, [](const char* name) { return name; });
}
Napi::Array kind_metric_names(Napi::Env env) {
  return names_of(env, kKindMetricNames, [](const auto& entry) { return entry.first; });
}

}  // namespace rexrag::napi
