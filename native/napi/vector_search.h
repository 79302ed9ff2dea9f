// Registers flatSearch (exact inner-product top-k over a Float32Array of vectors) on the addon's exports.
#pragma once

#include <napi.h>

namespace rexrag::napi {
void register_vector_search(Napi::Env env, Napi::Object exports);
}
