// The test-only kernels of core/checks.h under one `checks` object of the binding: policyLoss, adamwUpdate,
// fastLinear, bf16Linear, rmsNorm, attention, tokenLogprobs. Synchronous: they run on small arrays.
#include "core/attention_check.h"
#include "core/checks.h"
#include "core/rms_norm_check.h"
#include "napi/checks.h"
#include "napi/convert.h"
#include "napi/errors.h"
#include "napi/train_options.h"

namespace rexrag::napi {
namespace {

Napi::Value PolicyLoss(const Napi::CallbackInfo& info) {
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
  LossConfig loss = read_loss(Fields(object_arg(info, 1, "loss"), "loss"));
  return guarded(env, [&]() -> Napi::Value {
    LossCheck check = check_policy_loss(logps, entropies, behaviour, ref, advantages, loss_mask, lengths, loss);
    Napi::Object out = metrics_object(env, check.metrics);
    out.Set("train/loss", check.loss);
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
  const double grad_scale = number_field(o, "gradScale", "inputs");
  const bool fused = Fields(o, "inputs").boolean("fused");
  OptimizerOptions optimizer = read_optimizer(Fields(o, "inputs"));
  return guarded(env, [&]() -> Napi::Value {
    adamw_update_arrays(params, grads, grad_scale, exp_avg, exp_avg_sq, step, optimizer, optimizer.lr, fused);
    Napi::Object out = Napi::Object::New(env);
    out.Set("params", to_float32_array(env, params));
    out.Set("expAvg", to_float32_array(env, exp_avg));
    out.Set("expAvgSq", to_float32_array(env, exp_avg_sq));
    return out;
  });
}

Napi::Value TokenLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "options");
  const int64_t rows = integer_field(o, "rows", "options"), hidden = integer_field(o, "hidden", "options");
  const int64_t vocab = integer_field(o, "vocab", "options"), chunk = integer_field(o, "chunk", "options");
  const double entropy_weight = number_field(o, "entropyWeight", "options");
  const auto seed = static_cast<uint64_t>(integer_field(o, "seed", "options"));
  const int64_t max_logits = integer_field(o, "maxLogits", "options");
  const double temperature = number_field(o, "temperature", "options");
  return guarded(env, [&]() -> Napi::Value {
    TokenLogprobCheck check = check_token_logprobs(rows, hidden, vocab, chunk, entropy_weight, seed, max_logits, temperature);
    Napi::Object out = Napi::Object::New(env);
    out.Set("logp", check.logp);
    out.Set("entropy", check.entropy);
    out.Set("gradHidden", check.grad_hidden);
    out.Set("gradWeight", check.grad_weight);
    return out;
  });
}

/// The options of the linear checks: { rows, inFeatures, outFeatures, bias, seed }.
struct LinearCheckOptions {
  int64_t rows, in_features, out_features;
  bool with_bias;
  uint64_t seed;
};

LinearCheckOptions read_linear_check_options(const Napi::CallbackInfo& info) {
  Napi::Object o = object_arg(info, 0, "options");
  return {integer_field(o, "rows", "options"), integer_field(o, "inFeatures", "options"),
          integer_field(o, "outFeatures", "options"), Fields(o, "options").boolean("bias"),
          static_cast<uint64_t>(integer_field(o, "seed", "options"))};
}

Napi::Value FastLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LinearCheckOptions a = read_linear_check_options(info);
  return guarded(env, [&]() -> Napi::Value {
    LinearCheck check = check_fast_linear(a.rows, a.in_features, a.out_features, a.with_bias, a.seed);
    Napi::Object out = Napi::Object::New(env);
    out.Set("output", check.output);
    out.Set("gradInput", check.grad_input);
    out.Set("gradWeight", check.grad_weight);
    out.Set("gradBias", check.grad_bias);
    out.Set("atenOutput", check.aten_output);
    out.Set("atenGradInput", check.aten_grad_input);
    out.Set("atenGradWeight", check.aten_grad_weight);
    out.Set("sameOnOneThread", check.same_on_one_thread);
    out.Set("sameGradientsOnOneThread", check.same_gradients_on_one_thread);
    return out;
  });
}

Napi::Value Bf16Linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LinearCheckOptions a = read_linear_check_options(info);
  return guarded(env, [&]() -> Napi::Value {
    Bf16LinearCheck check = check_bf16_linear(a.rows, a.in_features, a.out_features, a.with_bias, a.seed);
    Napi::Object out = Napi::Object::New(env);
    out.Set("output", check.output);
    out.Set("atenOutput", check.aten_output);
    out.Set("sameOnOneThread", check.same_on_one_thread);
    out.Set("kernel", check.kernel);
    return out;
  });
}

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "options");
  const int64_t rows = integer_field(o, "rows", "options");
  const int64_t width = integer_field(o, "width", "options");
  const auto seed = static_cast<uint64_t>(integer_field(o, "seed", "options"));
  return guarded(env, [&]() -> Napi::Value {
    RmsNormCheck check = check_rms_norm(rows, width, seed);
    Napi::Object out = Napi::Object::New(env);
    out.Set("output", check.output);
    out.Set("gradInput", check.grad_input);
    out.Set("gradWeight", check.grad_weight);
    out.Set("atenOutput", check.aten_output);
    out.Set("atenGradInput", check.aten_grad_input);
    out.Set("atenGradWeight", check.aten_grad_weight);
    out.Set("sameOnOneThread", check.same_on_one_thread);
    return out;
  });
}

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object_arg(info, 0, "options");
  const int64_t batch = integer_field(o, "batch", "options"), steps = integer_field(o, "steps", "options");
  const int64_t heads = integer_field(o, "heads", "options"), kv_heads = integer_field(o, "kvHeads", "options");
  const int64_t head_dim = integer_field(o, "headDim", "options");
  const auto seed = static_cast<uint64_t>(integer_field(o, "seed", "options"));
  return guarded(env, [&]() -> Napi::Value {
    AttentionCheck check = check_fused_attention(batch, steps, heads, kv_heads, head_dim, seed);
    Napi::Object out = Napi::Object::New(env);
    out.Set("output", check.output);
    out.Set("gradQ", check.grad_q);
    out.Set("gradK", check.grad_k);
    out.Set("gradV", check.grad_v);
    out.Set("atenOutput", check.aten_output);
    out.Set("atenGradQ", check.aten_grad_q);
    out.Set("atenGradK", check.aten_grad_k);
    out.Set("atenGradV", check.aten_grad_v);
    out.Set("sameOnOneThread", check.same_on_one_thread);
    return out;
  });
}

}  // namespace

void register_checks(Napi::Env env, Napi::Object exports) {
  Napi::Object checks = Napi::Object::New(env);
  checks.Set("policyLoss", Napi::Function::New(env, PolicyLoss, "policyLoss"));
  checks.Set("adamwUpdate", Napi::Function::New(env, AdamwUpdate, "adamwUpdate"));
  checks.Set("tokenLogprobs", Napi::Function::New(env, TokenLogprobs, "tokenLogprobs"));
  checks.Set("fastLinear", Napi::Function::New(env, FastLinear, "fastLinear"));
  checks.Set("bf16Linear", Napi::Function::New(env, Bf16Linear, "bf16Linear"));
  checks.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  checks.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("checks", checks);
}

}  // namespace rexrag::napi
