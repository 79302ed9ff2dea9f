// The native state behind the JS handle classes. Workers hold a shared_ptr to the box, so a handle that is
// garbage-collected or disposed while its call runs stays alive until the call ends.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/policy.h"
#include "core/session.h"

namespace rexrag::napi {

struct PolicyBox {
  std::shared_ptr<Policy> policy;  // null after dispose()
  std::shared_ptr<const std::vector<std::string>> token_bytes = std::make_shared<std::vector<std::string>>();
  bool busy = false;
  int64_t reported_bytes = 0;  // native memory told to V8 (AdjustExternalMemory), so GC weighs the handle
};

struct SessionBox {
  std::shared_ptr<GenerationSession> session;  // null after dispose()
  bool busy = false;
  int64_t reported_bytes = 0;  // KV-cache bytes told to V8, so undisposed sessions are collected in time
  bool finalized = false;      // the JS object is gone: report nothing more
};

/// Tells V8 how much native memory `box` holds now (its KV caches; 0 once disposed or finalized), so garbage
/// collection runs, and finalizers free undisposed sessions, as their caches grow.
void report_session_memory(Napi::Env env, SessionBox& box);

/// A JS object of the class behind `constructor`, over `box` (handed to the constructor as an External).
template <typename Box>
Napi::Object wrap_box(Napi::Env env, const Napi::FunctionReference& constructor, std::shared_ptr<Box> box) {
  auto holder = std::make_unique<std::shared_ptr<Box>>(std::move(box));
  auto external = Napi::External<std::shared_ptr<Box>>::New(
      env, holder.release(), [](Napi::Env, std::shared_ptr<Box>* data) { delete data; });
  return constructor.New({external});
}

/// The box wrap_box handed to a constructor; a TypeError with `message` when JS calls the constructor itself.
template <typename Box>
std::shared_ptr<Box> unwrap_box(const Napi::CallbackInfo& info, const char* message) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), message);
  return *info[0].As<Napi::External<std::shared_ptr<Box>>>().Data();
}

/// Throws ERR_DISPOSED / ERR_BUSY (as JS errors) when the handle cannot take a call now.
void check_usable(Napi::Env env, bool disposed, bool busy, const char* what);

void register_policy(Napi::Env env, Napi::Object exports);
void register_trainer(Napi::Env env, Napi::Object exports);
/// Reads options.files: [{path, tensors: [{name, dtype, shape, begin, end}]}] (TypeErrors name the field).
std::vector<WeightFile> read_weight_files_option(const Napi::Object& options);
/// A score request: {ids, lengths, chunkSize, microBatchTokens, withEntropy, mask?} (a zod-parsed score config).
Policy::ScoreRequest read_score_request(const Napi::Object& options);
/// The box behind a Qwen2Policy object; TypeError naming `name` when the value is not one.
std::shared_ptr<PolicyBox> unwrap_policy(const Napi::Value& value, const char* name);
void register_session(Napi::Env env, Napi::Object exports);
/// Wraps a new session of `policy` in a JS object (the session class's constructor is private to JS).
Napi::Object new_session_object(Napi::Env env, const std::shared_ptr<PolicyBox>& policy);

}  // namespace rexrag::napi
