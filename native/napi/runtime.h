// Registers the runtime functions (info, threads, error class, matmul probe) on the addon's exports.
#pragma once

#include <napi.h>

namespace rexrag::napi {
void register_runtime(Napi::Env env, Napi::Object exports);
}
