// Entry point of the rexrag addon: each napi/ module registers its functions and classes on the exports.
#include <napi.h>

#include "napi/encoder.h"
#include "napi/handles.h"
#include "napi/runtime.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  rexrag::napi::register_runtime(env, exports);
  rexrag::napi::register_policy(env, exports);
  rexrag::napi::register_session(env, exports);
  rexrag::napi::register_trainer(env, exports);
  rexrag::napi::register_encoder(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(rexrag, Init)
