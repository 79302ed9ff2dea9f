// The native state behind a JS ProcessGroup, for the trainer that all-reduces its gradients over it.
#pragma once

#include <napi.h>

#include <memory>

#include "core/process_group.h"

namespace rexrag::napi {

struct ProcessGroupBox {
  std::shared_ptr<ProcessGroup> group;  // null after dispose()
  bool busy = false;
};

/// The box behind a ProcessGroup object; TypeError naming `name` when the value is not one.
std::shared_ptr<ProcessGroupBox> unwrap_process_group(const Napi::Value& value, const char* name);
void register_process_group(Napi::Env env, Napi::Object exports);

}  // namespace rexrag::napi
