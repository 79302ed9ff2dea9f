// Scopes of libtorch's autocast (at::autocast, the state torch.autocast sets): inside an enabled scope, the ops
// on autocast's list (matmul, linear, ...) run in a lower-precision dtype while every tensor, parameters
// included, keeps its own dtype. Which ops are cast is libtorch's list, not ours; callers that need an op in
// float32 inside a region open a disabled scope around it.
#pragma once

#include <ATen/autocast_mode.h>

namespace rexrag {

/// Autocast's state for one device type: whether it is on, and the dtype it casts to.
struct AutocastState {
  bool enabled = false;
  at::ScalarType dtype = at::kBFloat16;

  /// The calling thread's state for `device` (autocast state is thread-local).
  static AutocastState current(at::DeviceType device) {
    if (device == at::kCUDA) return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
    return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
  }
};

/// Sets `state` for `device` on this thread while it lives, then restores the previous state. Like
/// torch.autocast's exit, leaving the outermost scope drops autocast's cache of low-precision weight copies.
class AutocastScope {
 public:
  AutocastScope(at::DeviceType device, AutocastState state) : device_(device), previous_(AutocastState::current(device)) {
    set(state);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(previous_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  void set(AutocastState state) const {
    if (device_ == at::kCUDA) {
      at::autocast::set_enabled(state.enabled);
      at::autocast::set_autocast_gpu_dtype(state.dtype);
    } else {
      at::autocast::set_cpu_enabled(state.enabled);
      at::autocast::set_autocast_cpu_dtype(state.dtype);
    }
  }

  at::DeviceType device_;
  AutocastState previous_;
};

}  // namespace rexrag
