// N-API class Trainer over core/trainer.h: create, step, referenceScore, state and reference save/load.
// Option objects are read by train_options.h; the test-only kernels are in checks.cc.
#include <utility>

#include "core/trainer.h"
#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/handles.h"
#include "napi/process_group.h"
#include "napi/train_options.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

std::vector<WeightFile> read_files_arg(const Napi::Value& value);

struct TrainerBox {
  std::shared_ptr<Trainer> trainer;
  std::shared_ptr<PolicyBox> policy;
  std::shared_ptr<ProcessGroupBox> group;  // data parallel when set
  bool busy = false;
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
                        InstanceMethod<&TrainerWrap::SetProcessGroup>("setProcessGroup"),
                        InstanceMethod<&TrainerWrap::Dispose>("dispose")});
  }

  /// new Trainer(policy, {loss, optimizer, keepReference}), every field required: copies the reference
  /// synchronously.
  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    box_ = std::make_shared<TrainerBox>();
    box_->policy = unwrap_policy(info[0], "policy");
    check_usable(env, !box_->policy->policy, box_->policy->busy, "Qwen2Policy");
    Napi::Object options = object_arg(info, 1, "options");
    Fields fields(options, "options");
    bool keep_reference = fields.boolean("keepReference");
    LossConfig loss = read_loss(fields.object("loss"));
    OptimizerOptions optimizer = read_optimizer(fields.object("optimizer"));
    guarded(env, [&]() -> Napi::Value {
      box_->trainer = std::make_shared<Trainer>(box_->policy->policy, loss, optimizer, keep_reference);
      return env.Undefined();
    });
  }

 private:
  /// Runs `run` on the pool with the trainer and its policy marked busy; `result` builds the resolved value.
  Napi::Value Start(Napi::Env env, std::function<void(Trainer&)> run,
                    std::function<Napi::Value(Napi::Env)> result = nullptr) {
    auto worker = new CallWorker(env, "rexrag.trainer", [box = box_, run] { run(*box->trainer); }, std::move(result));
    worker->hold(box_, box_->busy).hold(box_->policy, box_->policy->busy);
    if (box_->group) worker->hold(box_->group, box_->group->busy);  // its collectives run inside the call
    return worker->Start();
  }

  void check(Napi::Env env) {
    check_usable(env, !box_->trainer, box_->busy, "Trainer");
    check_usable(env, !box_->policy->policy, box_->policy->busy, "Qwen2Policy");
    if (box_->group) check_usable(env, !box_->group->group, box_->group->busy, "ProcessGroup");
  }

  /// setProcessGroup(group) → Promise: data parallel from now on; broadcasts rank 0's weights (a collective).
  Napi::Value SetProcessGroup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    auto group = unwrap_process_group(info[0], "group");
    check_usable(env, !group->group, group->busy, "ProcessGroup");
    box_->group = group;
    return Start(env, [shared = group->group](Trainer& t) { t.set_process_group(shared); });
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
    if (has_field(b, "tokenKinds")) batch->token_kinds = uint8_list(b.Get("tokenKinds"), "batch.tokenKinds");
    if (has_field(b, "sequenceRatio")) batch->sequence_ratio = uint8_list(b.Get("sequenceRatio"), "batch.sequenceRatio");
    if (has_field(b, "globalIndex")) {
      batch->global_index = int64_list(b.Get("globalIndex"), "batch.globalIndex");
      batch->global_rows = integer_field(b, "globalRows", "batch");
    }
    StepOptions options = read_step(Fields(object_arg(info, 1, "options"), "options"));
    auto metrics = std::make_shared<StepMetrics>();
    return Start(
        env, [batch, options, metrics](Trainer& t) { *metrics = t.step(*batch, options); },
        [metrics](Napi::Env e) -> Napi::Value { return metrics_object(e, *metrics); });
  }

  Napi::Value ReferenceScore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    Policy::ScoreRequest request = read_score_request(object_arg(info, 0, "options"));
    auto result = std::make_shared<Policy::ScoreResult>();
    return Start(env, [request, result](Trainer& t) { *result = t.reference_score(request); },
                 [result](Napi::Env e) -> Napi::Value {
                   Napi::Object out = Napi::Object::New(e);
                   out.Set("logps", to_float32_array(e, result->logps));
                   return out;
                 });
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
    return Start(env, [job, path](Trainer& t) { job(t, path); });
  }

  Napi::Value FilesJob(const Napi::CallbackInfo& info, std::function<void(Trainer&, const std::vector<WeightFile>&)> job) {
    Napi::Env env = info.Env();
    check(env);
    auto files = read_files_arg(info[0]);
    return Start(env, [job, files](Trainer& t) { job(t, files); });
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

}  // namespace

void register_trainer(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = TrainerWrap::Define(env);
  exports.Set("Trainer", constructor);
  addon_data(env).trainer_constructor = Napi::Persistent(constructor);
  exports.Set("stepMetricNames", metric_names(env));
  exports.Set("tokenKindNames", kind_names(env));
  exports.Set("tokenKindMetricNames", kind_metric_names(env));
}

}  // namespace rexrag::napi
