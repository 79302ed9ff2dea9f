// Base for every heavy call: runs off the main thread on the libuv pool and settles a Promise.
// Subclasses copy their inputs into plain C++ members in the constructor (main thread), compute in Run()
// (worker thread, no napi_* calls), and build the JS result in Result() (main thread).
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/runtime.h"
#include "napi/errors.h"

namespace rexrag::napi {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  /// Queues the work and returns its Promise.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void Execute() override {
    try {
      apply_num_threads_to_this_thread();
      Run();
    } catch (...) {
      error_ = describe_current_exception();
      SetError(error_.message);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    } catch (...) {
      deferred_.Reject(make_error(env, describe_current_exception()).Value());
    }
  }
  void OnError(const Napi::Error&) override { deferred_.Reject(make_error(Env(), error_).Value()); }

  Napi::Promise::Deferred deferred_;
  ErrorInfo error_;
};

/// A PromiseWorker made of two functions: `run` on the pool thread, `result` back on the main thread (absent:
/// the Promise resolves to undefined). `hold` marks a handle busy until the worker is destroyed, and keeps the
/// box that owns the flag alive as long.
class CallWorker : public PromiseWorker {
 public:
  CallWorker(Napi::Env env, const char* name, std::function<void()> run,
             std::function<Napi::Value(Napi::Env)> result = nullptr)
      : PromiseWorker(env, name), run_(std::move(run)), result_(std::move(result)) {}
  ~CallWorker() override {
    for (auto& [owner, busy] : holds_) *busy = false;
  }

  CallWorker& hold(std::shared_ptr<void> owner, bool& busy) {
    busy = true;
    holds_.emplace_back(std::move(owner), &busy);
    return *this;
  }

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return result_ ? result_(env) : env.Undefined(); }

 private:
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> result_;
  std::vector<std::pair<std::shared_ptr<void>, bool*>> holds_;
};

}  // namespace rexrag::napi
