// Registers the test-only kernels (napi/checks.cc) on the binding's exports as `checks`.
#pragma once

#include <napi.h>

namespace rexrag::napi {

void register_checks(Napi::Env env, Napi::Object exports);

}  // namespace rexrag::napi
