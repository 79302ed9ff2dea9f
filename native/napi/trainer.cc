// N-API class Trainer over core/trainer.h (create, step, referenceScore, state and reference save/load), plus
// the two kernels exposed for reference checks: checkPolicyLoss and adamwUpdate.
#include <utility>

#include "core/token_logprobs.h"
#include "core/trainer.h"
#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/handles.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

std::vector<float> float_list(const Napi::Value& value, const std::string& name) {
  Napi::Env env = value.Env();
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto array = value.As<Napi::Float32Array>();
    return std::vector<float>(array.Data(), array.Data() + array.ElementLength());
  }
  if (!value.IsArray()) throw Napi::TypeError::New(env, name + " must be a Float32Array or an array of numbers, got " + type_name(value));
  auto array = value.As<Napi::Array>();
  std::vector<float> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw Napi::TypeError::New(env, name + "[" + std::to_string(i) + "] must be a number");
    out[i] = item.As<Napi::Number>().FloatValue();
  }
  return out;
}

double number_or(const Napi::Object& object, const char* key, const char* owner, double fallback) {
  return has_field(object, key) ? number_field(object, key, owner) : fallback;
}

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

std::vector<WeightFile> read_files_arg(const Napi::Value& value);

struct TrainerBox {
  std::shared_ptr<Trainer> trainer;
  std::shared_ptr<PolicyBox> policy;
  bool busy = false;
};

/// A worker that marks the trainer and its policy busy while it runs.
class TrainerWorker : public PromiseWorker {
 public:
  TrainerWorker(Napi::Env env, std::shared_ptr<TrainerBox> box, std::function<void(Trainer&)> run,
                std::function<Napi::Value(Napi::Env)> result)
      : PromiseWorker(env, "rexrag.trainer"), box_(std::move(box)), run_(std::move(run)), result_(std::move(result)) {
    box_->busy = true;
    box_->policy->busy = true;
  }
  ~TrainerWorker() override {
    box_->busy = false;
    box_->policy->busy = false;
  }

 protected:
  void Run() override { run_(*box_->trainer); }
  Napi::Value Result(Napi::Env env) override { return result_(env); }

 private:
  std::shared_ptr<TrainerBox> box_;
  std::function<void(Trainer&)> run_;
  std::function<Napi::Value(Napi::Env)> result_;
};

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Trainer",
                       {InstanceMethod<&TrainerWrap::Step>("step"),
                        InstanceMethod<&TrainerWrap::ReferenceScore>("referenceScore"),
                        InstanceMethod<&TrainerWrap::LrAt>("lrAt"), InstanceMethod<&TrainerWrap::StepsDone>("stepsDone"),
                        InstanceMethod<&TrainerWrap::SaveState>("saveState"),
                        InstanceMethod<&TrainerWrap::LoadState>("loadState"),
                        InstanceMethod<&TrainerWrap::SaveReference>("saveReference"),
                        InstanceMethod<&TrainerWrap::LoadReference>("loadReference"),
                        InstanceMethod<&TrainerWrap::Dispose>("dispose")});
  }

  /// new Trainer(policy, {loss, optimizer, keepReference}): copies the reference synchronously.
  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    box_ = std::make_shared<TrainerBox>();
    box_->policy = unwrap_policy(info[0], "policy");
    check_usable(env, !box_->policy->policy, box_->policy->busy, "Qwen2Policy");
    Napi::Object options = object_arg(info, 1, "options");
    bool keep_reference = has_field(options, "keepReference") && options.Get("keepReference").ToBoolean().Value();
    TrainerLossOptions loss = read_loss(options);
    OptimizerOptions optimizer = read_optimizer(options);
    guarded(env, [&]() -> Napi::Value {
      box_->trainer = std::make_shared<Trainer>(box_->policy->policy, loss, optimizer, keep_reference);
      return env.Undefined();
    });
  }

 private:
  void check(Napi::Env env) {
    check_usable(env, !box_->trainer, box_->busy, "Trainer");
    check_usable(env, !box_->policy->policy, box_->policy->busy, "Qwen2Policy");
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    Napi::Object b = object_arg(info, 0, "batch");
    auto batch = std::make_shared<TrainBatch>();
    batch->ids = int32_list(b.Get("ids"), "batch.ids");
    batch->lengths = int64_list(b.Get("lengths"), "batch.lengths");
    batch->loss_mask = float_list(b.Get("lossMask"), "batch.lossMask");
    if (has_field(b, "behaviourLogps")) batch->behaviour_logps = float_list(b.Get("behaviourLogps"), "batch.behaviourLogps");
    if (has_field(b, "refLogps")) batch->ref_logps = float_list(b.Get("refLogps"), "batch.refLogps");
    batch->advantages = float_list(b.Get("advantages"), "batch.advantages");
    StepOptions options;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      Napi::Object o = object_arg(info, 1, "options");
      if (has_field(o, "miniBatches")) options.mini_batches = integer_field(o, "miniBatches", "options");
      if (has_field(o, "epochs")) options.epochs = integer_field(o, "epochs", "options");
      if (has_field(o, "microBatchTokens")) options.micro_batch_tokens = integer_field(o, "microBatchTokens", "options");
      if (has_field(o, "logitChunk")) options.logit_chunk = integer_field(o, "logitChunk", "options");
      if (has_field(o, "shuffle")) options.shuffle = o.Get("shuffle").ToBoolean().Value();
      if (has_field(o, "seed")) options.seed = static_cast<uint64_t>(integer_field(o, "seed", "options"));
    }
    auto metrics = std::make_shared<StepMetrics>();
    return (new TrainerWorker(
                env, box_, [batch, options, metrics](Trainer& t) { *metrics = t.step(*batch, options); },
                [metrics](Napi::Env e) -> Napi::Value { return metrics_object(e, *metrics); }))
        ->Start();
  }

  Napi::Value ReferenceScore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    Napi::Object o = object_arg(info, 0, "options");
    Policy::ScoreRequest request;
    request.ids = int32_list(o.Get("ids"), "options.ids");
    request.lengths = int64_list(o.Get("lengths"), "options.lengths");
    if (has_field(o, "chunkSize")) request.chunk_size = integer_field(o, "chunkSize", "options");
    auto result = std::make_shared<Policy::ScoreResult>();
    return (new TrainerWorker(
                env, box_, [request, result](Trainer& t) { *result = t.reference_score(request); },
                [result](Napi::Env e) -> Napi::Value {
                  Napi::Object out = Napi::Object::New(e);
                  out.Set("logps", to_float32_array(e, result->logps));
                  return out;
                }))
        ->Start();
  }

  Napi::Value LrAt(const Napi::CallbackInfo& info) {
    check(info.Env());
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "step must be a number, got " + type_name(info[0]));
    return Napi::Number::New(info.Env(), box_->trainer->lr_at(info[0].As<Napi::Number>().Int64Value()));
  }

  Napi::Value StepsDone(const Napi::CallbackInfo& info) {
    check(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(box_->trainer->steps_done()));
  }

  Napi::Value PathJob(const Napi::CallbackInfo& info, std::function<void(Trainer&, const std::string&)> job) {
    Napi::Env env = info.Env();
    check(env);
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string, got " + type_name(info[0]));
    std::string path = info[0].As<Napi::String>().Utf8Value();
    return (new TrainerWorker(
                env, box_, [job, path](Trainer& t) { job(t, path); },
                [](Napi::Env e) -> Napi::Value { return e.Undefined(); }))
        ->Start();
  }

  Napi::Value FilesJob(const Napi::CallbackInfo& info, std::function<void(Trainer&, const std::vector<WeightFile>&)> job) {
    Napi::Env env = info.Env();
    check(env);
    auto files = read_files_arg(info[0]);
    return (new TrainerWorker(
                env, box_, [job, files](Trainer& t) { job(t, files); },
                [](Napi::Env e) -> Napi::Value { return e.Undefined(); }))
        ->Start();
  }

  Napi::Value SaveState(const Napi::CallbackInfo& info) {
    return PathJob(info, [](Trainer& t, const std::string& path) { t.save_state(path); });
  }
  Napi::Value SaveReference(const Napi::CallbackInfo& info) {
    return PathJob(info, [](Trainer& t, const std::string& path) { t.save_reference(path); });
  }
  Napi::Value LoadState(const Napi::CallbackInfo& info) {
    return FilesJob(info, [](Trainer& t, const std::vector<WeightFile>& files) { t.load_state(files); });
  }
  Napi::Value LoadReference(const Napi::CallbackInfo& info) {
    return FilesJob(info, [](Trainer& t, const std::vector<WeightFile>& files) { t.load_reference(files); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), false, box_->busy, "Trainer");
    box_->trainer.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<TrainerBox> box_;
};

std::vector<WeightFile> read_files_arg(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, "files must be an array, got " + type_name(value));
  Napi::Object wrapper = Napi::Object::New(env);
  wrapper.Set("files", value);
  return read_weight_files_option(wrapper);
}

Napi::Value CheckPolicyLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "inputs");
  auto logps = float_list(o.Get("logps"), "inputs.logps");
  auto entropies = has_field(o, "entropies") ? float_list(o.Get("entropies"), "inputs.entropies")
                                             : std::vector<float>(logps.size(), 0.0f);
  auto behaviour = float_list(o.Get("behaviourLogps"), "inputs.behaviourLogps");
  auto ref = has_field(o, "refLogps") ? float_list(o.Get("refLogps"), "inputs.refLogps") : std::vector<float>();
  auto advantages = float_list(o.Get("advantages"), "inputs.advantages");
  auto loss_mask = float_list(o.Get("lossMask"), "inputs.lossMask");
  auto lengths = int64_list(o.Get("lengths"), "inputs.lengths");
  Napi::Object options = Napi::Object::New(env);
  options.Set("loss", info.Length() > 1 && info[1].IsObject() ? info[1] : Napi::Object::New(env));
  TrainerLossOptions loss = read_loss(options);
  return guarded(env, [&]() -> Napi::Value {
    LossCheck check = check_policy_loss(logps, entropies, behaviour, ref, advantages, loss_mask, lengths, loss);
    Napi::Object out = metrics_object(env, check.metrics);
    out.Set("loss", check.loss);
    out.Set("gradLogps", to_float32_array(env, check.grad_logps));
    out.Set("gradEntropies", to_float32_array(env, check.grad_entropies));
    return out;
  });
}

Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "inputs");
  auto params = float_list(o.Get("params"), "inputs.params");
  auto grads = float_list(o.Get("grads"), "inputs.grads");
  auto exp_avg = float_list(o.Get("expAvg"), "inputs.expAvg");
  auto exp_avg_sq = float_list(o.Get("expAvgSq"), "inputs.expAvgSq");
  int64_t step = integer_field(o, "step", "inputs");
  Napi::Object options = Napi::Object::New(env);
  options.Set("optimizer", o);
  OptimizerOptions optimizer = read_optimizer(options);
  return guarded(env, [&]() -> Napi::Value {
    adamw_update_arrays(params, grads, exp_avg, exp_avg_sq, step, optimizer, optimizer.lr);
    Napi::Object out = Napi::Object::New(env);
    out.Set("params", to_float32_array(env, params));
    out.Set("expAvg", to_float32_array(env, exp_avg));
    out.Set("expAvgSq", to_float32_array(env, exp_avg_sq));
    return out;
  });
}

Napi::Value CheckTokenLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "options");
  const int64_t rows = integer_field(o, "rows", "options"), hidden = integer_field(o, "hidden", "options");
  const int64_t vocab = integer_field(o, "vocab", "options"), chunk = integer_field(o, "chunk", "options");
  const double entropy_weight = number_field(o, "entropyWeight", "options");
  const auto seed = static_cast<uint64_t>(integer_field(o, "seed", "options"));
  const int64_t max_logits = integer_field(o, "maxLogits", "options");
  return guarded(env, [&]() -> Napi::Value {
    TokenLogprobCheck check = check_token_logprobs(rows, hidden, vocab, chunk, entropy_weight, seed, max_logits);
    Napi::Object out = Napi::Object::New(env);
    out.Set("logp", check.logp);
    out.Set("entropy", check.entropy);
    out.Set("gradHidden", check.grad_hidden);
    out.Set("gradWeight", check.grad_weight);
    return out;
  });
}

}  // namespace

void register_trainer(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = TrainerWrap::Define(env);
  exports.Set("Trainer", constructor);
  addon_data(env).trainer_constructor = Napi::Persistent(constructor);
  exports.Set("checkPolicyLoss", Napi::Function::New(env, CheckPolicyLoss, "checkPolicyLoss"));
  exports.Set("adamwUpdate", Napi::Function::New(env, AdamwUpdate, "adamwUpdate"));
  exports.Set("checkTokenLogprobs", Napi::Function::New(env, CheckTokenLogprobs, "checkTokenLogprobs"));
}

}  // namespace rexrag::napi
