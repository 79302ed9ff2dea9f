// N-API class ProcessGroup over core/process_group.h: createProcessGroup (async rendezvous), allReduce,
// allGather, allGatherBytes, barrier, dispose. Every collective runs on the libuv pool (the event loop stays
// free while a rank waits for the others), one at a time per group: the ranks must issue them in the same order.
#include "napi/process_group.h"

#include <utility>

#include "napi/addon_data.h"
#include "napi/handles.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

std::vector<double> float64_list(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a Float64Array, got " + type_name(value));
  }
  Napi::Float64Array array = value.As<Napi::Float64Array>();
  return std::vector<double>(array.Data(), array.Data() + array.ElementLength());
}

std::vector<uint8_t> byte_list(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a Uint8Array, got " + type_name(value));
  }
  Napi::Uint8Array array = value.As<Napi::Uint8Array>();
  return std::vector<uint8_t>(array.Data(), array.Data() + array.ElementLength());
}

Napi::Float64Array to_float64_array(Napi::Env env, const std::vector<double>& values) {
  Napi::Float64Array out = Napi::Float64Array::New(env, values.size());
  std::copy(values.begin(), values.end(), out.Data());
  return out;
}

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {InstanceAccessor<&ProcessGroupWrap::Rank>("rank"),
                        InstanceAccessor<&ProcessGroupWrap::WorldSize>("worldSize"),
                        InstanceAccessor<&ProcessGroupWrap::Backend>("backend"),
                        InstanceMethod<&ProcessGroupWrap::AllReduce>("allReduce"),
                        InstanceMethod<&ProcessGroupWrap::AllGather>("allGather"),
                        InstanceMethod<&ProcessGroupWrap::AllGatherBytes>("allGatherBytes"),
                        InstanceMethod<&ProcessGroupWrap::Barrier>("barrier"),
                        InstanceMethod<&ProcessGroupWrap::Dispose>("dispose")});
  }

  explicit ProcessGroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroupWrap>(info) {
    box_ = unwrap_box<ProcessGroupBox>(info, "ProcessGroup cannot be constructed directly: use createProcessGroup()");
  }

  const std::shared_ptr<ProcessGroupBox>& box() const { return box_; }

 private:
  void check(Napi::Env env) { check_usable(env, !box_->group, box_->busy, "ProcessGroup"); }

  Napi::Value Start(Napi::Env env, std::function<void(ProcessGroup&)> run,
                    std::function<Napi::Value(Napi::Env)> result = nullptr) {
    check(env);
    auto worker = new CallWorker(env, "rexrag.processGroup", [box = box_, run] { run(*box->group); }, std::move(result));
    return worker->hold(box_, box_->busy).Start();
  }

  Napi::Value Rank(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->group, false, "ProcessGroup");
    return Napi::Number::New(info.Env(), static_cast<double>(box_->group->rank()));
  }
  Napi::Value WorldSize(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->group, false, "ProcessGroup");
    return Napi::Number::New(info.Env(), static_cast<double>(box_->group->world_size()));
  }
  Napi::Value Backend(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->group, false, "ProcessGroup");
    return Napi::String::New(info.Env(), box_->group->backend());
  }

  /// allReduce(values: Float64Array, op: 'sum' | 'max' | 'min') → Promise<Float64Array>
  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto values = std::make_shared<std::vector<double>>(float64_list(info[0], "values"));
    std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    ReduceOp op;
    if (name == "sum") op = ReduceOp::Sum;
    else if (name == "max") op = ReduceOp::Max;
    else if (name == "min") op = ReduceOp::Min;
    else throw Napi::TypeError::New(env, "op must be \"sum\", \"max\" or \"min\", got " + type_name(info[1]));
    return Start(env, [values, op](ProcessGroup& group) { group.all_reduce(*values, op); },
                 [values](Napi::Env e) -> Napi::Value { return to_float64_array(e, *values); });
  }

  /// allGather(values: Float64Array) → Promise<Float64Array[]>, one per rank
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    auto values = float64_list(info[0], "values");
    auto out = std::make_shared<std::vector<std::vector<double>>>();
    return Start(info.Env(), [values, out](ProcessGroup& group) { *out = group.all_gather(values); },
                 [out](Napi::Env e) -> Napi::Value {
                   Napi::Array parts = Napi::Array::New(e, out->size());
                   for (size_t r = 0; r < out->size(); ++r) parts.Set(r, to_float64_array(e, (*out)[r]));
                   return parts;
                 });
  }

  /// allGatherBytes(bytes: Uint8Array) → Promise<Uint8Array[]>, one per rank (lengths may differ)
  Napi::Value AllGatherBytes(const Napi::CallbackInfo& info) {
    auto bytes = byte_list(info[0], "bytes");
    auto out = std::make_shared<std::vector<std::vector<uint8_t>>>();
    return Start(info.Env(), [bytes, out](ProcessGroup& group) { *out = group.all_gather_bytes(bytes); },
                 [out](Napi::Env e) -> Napi::Value {
                   Napi::Array parts = Napi::Array::New(e, out->size());
                   for (size_t r = 0; r < out->size(); ++r) {
                     Napi::Uint8Array part = Napi::Uint8Array::New(e, (*out)[r].size());
                     std::copy((*out)[r].begin(), (*out)[r].end(), part.Data());
                     parts.Set(r, part);
                   }
                   return parts;
                 });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return Start(info.Env(), [](ProcessGroup& group) { group.barrier(); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), false, box_->busy, "ProcessGroup");
    box_->group.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<ProcessGroupBox> box_;
};

/// createProcessGroup({masterAddr, masterPort, rank, worldSize, timeoutSeconds, backend, interface, device})
/// → Promise<ProcessGroup>, settled when every rank has joined (or the timeout passed).
Napi::Value CreateProcessGroupJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fields fields(object_arg(info, 0, "options"), "options");
  ProcessGroupOptions options;
  options.master_addr = fields.string("masterAddr");
  options.master_port = fields.integer("masterPort");
  options.rank = fields.integer("rank");
  options.world_size = fields.integer("worldSize");
  options.timeout_seconds = fields.number("timeoutSeconds");
  options.backend = fields.string("backend");
  options.interface = fields.string("interface");
  options.device = fields.string("device");
  auto box = std::make_shared<ProcessGroupBox>();
  auto worker = new CallWorker(
      env, "rexrag.createProcessGroup", [box, options] { box->group = std::make_shared<ProcessGroup>(options); },
      [box](Napi::Env e) -> Napi::Value { return wrap_box(e, addon_data(e).process_group_constructor, box); });
  return worker->Start();
}

Napi::Value DistributedInfoJs(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("c10d", process_group_available());
  out.Set("nccl", nccl_available());
  return out;
}

}  // namespace

std::shared_ptr<ProcessGroupBox> unwrap_process_group(const Napi::Value& value, const char* name) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addon_data(env).process_group_constructor.Value())) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a ProcessGroup, got " + type_name(value));
  }
  return ProcessGroupWrap::Unwrap(value.As<Napi::Object>())->box();
}

void register_process_group(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = ProcessGroupWrap::Define(env);
  exports.Set("ProcessGroup", constructor);
  addon_data(env).process_group_constructor = Napi::Persistent(constructor);
  exports.Set("createProcessGroup", Napi::Function::New(env, CreateProcessGroupJs, "createProcessGroup"));
  exports.Set("distributedInfo", Napi::Function::New(env, DistributedInfoJs, "distributedInfo"));
}

}  // namespace rexrag::napi
