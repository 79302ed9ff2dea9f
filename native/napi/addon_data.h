// Per-environment data of the addon: the JS error class and the constructors of the wrapped classes.
#pragma once

#include <napi.h>

namespace rexrag::napi {

struct AddonData {
  Napi::FunctionReference error_class;
  Napi::FunctionReference policy_constructor;
  Napi::FunctionReference session_constructor;
  Napi::FunctionReference trainer_constructor;
  Napi::FunctionReference encoder_constructor;
  Napi::FunctionReference process_group_constructor;
};

/// This environment's data, created on first use and freed by N-API at shutdown.
AddonData& addon_data(Napi::Env env);

}  // namespace rexrag::napi
