// N-API wrappers for core/runtime.h: runtimeInfo, setNumThreads, matmulBenchmark (async), trimNativeMemory,
// blockCache (core/block_cache.h);
// and liveSessions (core/session.h), the count that shows finalizers free undisposed sessions.
#include "napi/runtime.h"

#include "core/block_cache.h"
#include "core/runtime.h"
#include "core/session.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

Napi::Value RuntimeInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    RuntimeInfo runtime = runtime_info();
    Napi::Object out = Napi::Object::New(env);
    out.Set("torchVersion", runtime.torch_version);
    out.Set("numThreads", runtime.num_threads);
    out.Set("builtWithCuda", runtime.built_with_cuda);
    out.Set("cudaAvailable", runtime.cuda_available);
    out.Set("cudaDeviceCount", runtime.cuda_device_count);
    out.Set("blasLibrary", runtime.blas_library);
    out.Set("parallelInfo", runtime.parallel_info);
    return out;
  });
}

Napi::Value SetNumThreadsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "numThreads must be a number, got " + type_name(info[0]));
  }
  return guarded(env, [&]() -> Napi::Value {
    set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return env.Undefined();
  });
}

Napi::Value SetErrorClassJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "errorClass must be a function, got " + type_name(info[0]));
  }
  set_error_class(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value TrimNativeMemoryJs(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), trim_native_memory());
}

Napi::Value BlockCacheJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool release = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  const int64_t released = release ? release_block_cache() : 0;
  const BlockCacheStats stats = block_cache_stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cachedBytes", static_cast<double>(stats.cached_bytes));
  out.Set("budgetBytes", static_cast<double>(stats.budget_bytes));
  out.Set("hits", static_cast<double>(stats.hits));
  out.Set("misses", static_cast<double>(stats.misses));
  out.Set("releasedBytes", static_cast<double>(released));
  return out;
}

Napi::Value LiveSessionsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GenerationSession::live_count()));
}

class MatmulWorker : public PromiseWorker {
 public:
  MatmulWorker(Napi::Env env, int64_t size, int reps, std::string device, uint64_t seed)
      : PromiseWorker(env, "rexrag.matmulBenchmark"), size_(size), reps_(reps), device_(std::move(device)),
        seed_(seed) {}

 protected:
  void Run() override { result_ = matmul_benchmark(size_, reps_, device_, seed_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("size", static_cast<double>(result_.size));
    out.Set("reps", result_.reps);
    out.Set("seconds", result_.seconds);
    out.Set("gflops", result_.gflops);
    out.Set("checksum", result_.checksum);
    out.Set("device", result_.device);
    out.Set("threads", result_.threads);
    return out;
  }

 private:
  int64_t size_;
  int reps_;
  std::string device_;
  uint64_t seed_;
  MatmulResult result_;
};

Napi::Value MatmulBenchmarkJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = object_arg(info, 0, "options");
  int64_t size = integer_field(options, "size", "options");
  int64_t reps = integer_field(options, "reps", "options");
  std::string device = has_field(options, "device") ? string_field(options, "device", "options") : "cpu";
  int64_t seed = has_field(options, "seed") ? integer_field(options, "seed", "options") : 0;
  return (new MatmulWorker(env, size, static_cast<int>(reps), device, static_cast<uint64_t>(seed)))->Start();
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfoJs, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs, "setNumThreads"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClassJs, "setErrorClass"));
  exports.Set("trimNativeMemory", Napi::Function::New(env, TrimNativeMemoryJs, "trimNativeMemory"));
  exports.Set("blockCache", Napi::Function::New(env, BlockCacheJs, "blockCache"));
  exports.Set("liveSessions", Napi::Function::New(env, LiveSessionsJs, "liveSessions"));
  exports.Set("matmulBenchmark", Napi::Function::New(env, MatmulBenchmarkJs, "matmulBenchmark"));
}

}  // namespace rexrag::napi
