// Registers the BertEncoder class (core/encoder.h's SentenceEncoder) on the addon's exports.
#pragma once

#include <napi.h>

namespace rexrag::napi {
void register_encoder(Napi::Env env, Napi::Object exports);
}
