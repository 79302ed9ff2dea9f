// Error types the core throws for bad input; the N-API layer maps them to JS error codes.
// Torch's own failures stay c10::Error; the core never prints or aborts.
#pragma once

#include <stdexcept>
#include <string>

namespace rexrag {

/// Input that violates a documented precondition (bad shape, unknown key, corrupt file...).
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Throws InvalidArgument with the message when the condition is false.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw InvalidArgument(message);
}

}  // namespace rexrag
