// N-API class Qwen2Policy over core/policy.h: load / random (async), score (async), save (async),
// parameters, parameterValues, setTokenBytes, createSession, dispose.
#include <utility>

#include "core/errors.h"
#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/handles.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

Qwen2Config read_config(const Napi::Object& options) {
  Napi::Value value = options.Get("config");
  if (!value.IsObject()) throw Napi::TypeError::New(options.Env(), "options.config must be an object, got " + type_name(value));
  Napi::Object object = value.As<Napi::Object>();
  Fields fields(object, "config");
  Qwen2Config config;
  fields.read_into<Qwen2Config, int64_t>(
      config, {{"vocab_size", &Qwen2Config::vocab_size}, {"hidden_size", &Qwen2Config::hidden_size},
               {"intermediate_size", &Qwen2Config::intermediate_size}, {"num_hidden_layers", &Qwen2Config::num_hidden_layers},
               {"num_attention_heads", &Qwen2Config::num_attention_heads},
               {"num_key_value_heads", &Qwen2Config::num_key_value_heads}});
  // Optional in HF's config.json: absent ones keep Qwen2Config's (HF's) defaults.
  fields.read_into<Qwen2Config, int64_t>(config, {{"max_position_embeddings", &Qwen2Config::max_position_embeddings}}, true);
  fields.read_into<Qwen2Config, double>(
      config, {{"rope_theta", &Qwen2Config::rope_theta}, {"rms_norm_eps", &Qwen2Config::rms_norm_eps}}, true);
  fields.read_into<Qwen2Config, bool>(config, {{"tie_word_embeddings", &Qwen2Config::tie_word_embeddings}}, true);
  return config;
}

PolicyOptions read_policy_options(const Napi::Object& options) {
  PolicyOptions out;
  if (has_field(options, "dtype")) out.dtype = string_field(options, "dtype", "options");
  if (has_field(options, "device")) out.device = string_field(options, "device", "options");
  if (has_field(options, "generationDtype")) out.generation_dtype = string_field(options, "generationDtype", "options");
  return out;
}

}  // namespace

std::vector<WeightFile> read_weight_files_option(const Napi::Object& options) {
  Napi::Value value = options.Get("files");
  if (!value.IsArray()) throw Napi::TypeError::New(options.Env(), "options.files must be an array, got " + type_name(value));
  auto array = value.As<Napi::Array>();
  std::vector<WeightFile> files;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string owner = "options.files[" + std::to_string(i) + "]";
    if (!array.Get(i).IsObject()) throw Napi::TypeError::New(options.Env(), owner + " must be an object");
    Napi::Object file_object = array.Get(i).As<Napi::Object>();
    WeightFile file;
    file.path = string_field(file_object, "path", owner.c_str());
    Napi::Value tensors_value = file_object.Get("tensors");
    if (!tensors_value.IsArray()) throw Napi::TypeError::New(options.Env(), owner + ".tensors must be an array");
    auto tensors = tensors_value.As<Napi::Array>();
    for (uint32_t j = 0; j < tensors.Length(); ++j) {
      const std::string tensor_owner = owner + ".tensors[" + std::to_string(j) + "]";
      if (!tensors.Get(j).IsObject()) throw Napi::TypeError::New(options.Env(), tensor_owner + " must be an object");
      Napi::Object tensor = tensors.Get(j).As<Napi::Object>();
      TensorEntry entry;
      entry.name = string_field(tensor, "name", tensor_owner.c_str());
      entry.dtype = string_field(tensor, "dtype", tensor_owner.c_str());
      entry.shape = int64_list(tensor.Get("shape"), tensor_owner + ".shape");
      entry.begin = static_cast<uint64_t>(integer_field(tensor, "begin", tensor_owner.c_str()));
      entry.end = static_cast<uint64_t>(integer_field(tensor, "end", tensor_owner.c_str()));
      file.tensors.push_back(std::move(entry));
    }
    files.push_back(std::move(file));
  }
  return files;
}

Policy::ScoreRequest read_score_request(const Napi::Object& options) {
  Fields fields(options, "options");
  Policy::ScoreRequest request;
  request.ids = int32_list(options.Get("ids"), "options.ids");
  request.lengths = int64_list(options.Get("lengths"), "options.lengths");
  request.chunk_size = fields.integer("chunkSize");
  request.micro_batch_tokens = fields.integer("microBatchTokens");
  request.with_entropy = fields.boolean("withEntropy");
  request.temperature = fields.number("temperature");
  if (has_field(options, "mask")) {
    std::vector<int32_t> mask = int32_list(options.Get("mask"), "options.mask");
    request.mask.assign(mask.begin(), mask.end());
  }
  return request;
}

namespace {

class PolicyWrap : public Napi::ObjectWrap<PolicyWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Qwen2Policy",
                       {StaticMethod<&PolicyWrap::Load>("load"), StaticMethod<&PolicyWrap::Random>("random"),
                        InstanceMethod<&PolicyWrap::Score>("score"), InstanceMethod<&PolicyWrap::Save>("save"),
                        InstanceMethod<&PolicyWrap::Parameters>("parameters"),
                        InstanceMethod<&PolicyWrap::ParameterValues>("parameterValues"),
                        InstanceMethod<&PolicyWrap::SetTokenBytes>("setTokenBytes"),
                        InstanceMethod<&PolicyWrap::CreateSession>("createSession"),
                        InstanceMethod<&PolicyWrap::Dispose>("dispose")});
  }

  explicit PolicyWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PolicyWrap>(info),
        box_(unwrap_box<PolicyBox>(info, "Qwen2Policy cannot be constructed directly; use load() or random()")) {
    report_memory(info.Env());
  }

  ~PolicyWrap() override {
    // The box (and the weights) may live on in a trainer or a session: only this handle's report ends.
    if (box_->reported_bytes != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -box_->reported_bytes);
    box_->reported_bytes = 0;
  }

  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Policy> policy) {
    auto box = std::make_shared<PolicyBox>();
    box->policy = std::move(policy);
    return wrap_box(env, addon_data(env).policy_constructor, box);
  }

  std::shared_ptr<PolicyBox> box() const { return box_; }

 private:
  /// Creates a policy on the pool thread and resolves with its JS handle.
  static Napi::Value Create(Napi::Env env, std::function<std::shared_ptr<Policy>()> create) {
    auto policy = std::make_shared<std::shared_ptr<Policy>>();
    return (new CallWorker(
                env, "rexrag.policy.create", [create, policy] { *policy = create(); },
                [policy](Napi::Env e) -> Napi::Value { return Wrap(e, *policy); }))
        ->Start();
  }

  static Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Object options = object_arg(info, 0, "options");
    Qwen2Config config = read_config(options);
    std::vector<WeightFile> files = read_weight_files_option(options);
    PolicyOptions policy_options = read_policy_options(options);
    auto create = [config, files, policy_options]() { return Policy::load(config, files, policy_options); };
    return Create(info.Env(), create);
  }

  static Napi::Value Random(const Napi::CallbackInfo& info) {
    Napi::Object options = object_arg(info, 0, "options");
    Qwen2Config config = read_config(options);
    auto seed = static_cast<uint64_t>(has_field(options, "seed") ? integer_field(options, "seed", "options") : 0);
    PolicyOptions policy_options = read_policy_options(options);
    auto create = [config, seed, policy_options]() { return Policy::random(config, seed, policy_options); };
    return Create(info.Env(), create);
  }

  Napi::Value Score(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->policy, box_->busy, "Qwen2Policy");
    auto request = std::make_shared<const Policy::ScoreRequest>(read_score_request(object_arg(info, 0, "options")));
    auto result = std::make_shared<Policy::ScoreResult>();
    auto worker = new CallWorker(
        info.Env(), "rexrag.policy.score", [box = box_, request, result] { *result = box->policy->score(*request); },
        [request, result](Napi::Env env) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("logps", to_float32_array(env, result->logps));
          if (request->with_entropy) out.Set("entropies", to_float32_array(env, result->entropies));
          return out;
        });
    return worker->hold(box_, box_->busy).Start();
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->policy, box_->busy, "Qwen2Policy");
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string, got " + type_name(info[0]));
    std::string dtype = info[1].IsUndefined() ? "float32" : info[1].As<Napi::String>().Utf8Value();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    auto worker = new CallWorker(info.Env(), "rexrag.policy.save", [box = box_, path, dtype] { box->policy->save(path, dtype); });
    return worker->hold(box_, box_->busy).Start();
  }

  Napi::Value Parameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check_usable(env, !box_->policy, box_->busy, "Qwen2Policy");
    auto parameters = box_->policy->parameters();
    Napi::Array out = Napi::Array::New(env, parameters.size());
    for (size_t i = 0; i < parameters.size(); ++i) {
      Napi::Object item = Napi::Object::New(env);
      item.Set("name", parameters[i].name);
      item.Set("shape", to_number_array(env, parameters[i].shape));
      out.Set(static_cast<uint32_t>(i), item);
    }
    return out;
  }

  Napi::Value ParameterValues(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check_usable(env, !box_->policy, box_->busy, "Qwen2Policy");
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "name must be a string, got " + type_name(info[0]));
    return guarded(env, [&]() -> Napi::Value {
      return to_float32_array(env, box_->policy->parameter_values(info[0].As<Napi::String>().Utf8Value()));
    });
  }

  Napi::Value SetTokenBytes(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->policy, box_->busy, "Qwen2Policy");
    box_->token_bytes = std::make_shared<const std::vector<std::string>>(bytes_list(info[0], "tokenBytes"));
    return info.Env().Undefined();
  }

  Napi::Value CreateSession(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->policy, false, "Qwen2Policy");
    return new_session_object(info.Env(), box_);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), false, box_->busy, "Qwen2Policy");
    box_->policy.reset();  // sessions created from it keep the model alive until they are disposed
    report_memory(info.Env());
    return info.Env().Undefined();
  }

  /// Tells V8 the bytes of the weights this handle holds (0 once disposed), so GC weighs an unused policy.
  void report_memory(Napi::Env env) {
    const int64_t now = box_->policy ? box_->policy->parameter_bytes() : 0;
    if (now != box_->reported_bytes) Napi::MemoryManagement::AdjustExternalMemory(env, now - box_->reported_bytes);
    box_->reported_bytes = now;
  }

  std::shared_ptr<PolicyBox> box_;
};

}  // namespace

void check_usable(Napi::Env env, bool disposed, bool busy, const char* what) {
  if (disposed) throw make_error(env, {"ERR_DISPOSED", std::string(what) + " was disposed"});
  if (busy) {
    throw make_error(env, {"ERR_BUSY", std::string(what) + " is already running a call; await it first"});
  }
}

std::shared_ptr<PolicyBox> unwrap_policy(const Napi::Value& value, const char* name) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addon_data(env).policy_constructor.Value())) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a Qwen2Policy, got " + type_name(value));
  }
  return PolicyWrap::Unwrap(value.As<Napi::Object>())->box();
}

void register_policy(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = PolicyWrap::Define(env);
  addon_data(env).policy_constructor = Napi::Persistent(constructor);
  exports.Set("Qwen2Policy", constructor);
}

}  // namespace rexrag::napi
