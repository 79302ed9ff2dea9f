// The one place where C++ exceptions become JS errors with a `code`:
// c10::Error -> ERR_TORCH, out of memory -> ERR_OOM, rexrag::InvalidArgument -> ERR_INVALID_ARG,
// rexrag::DistributedError -> ERR_DISTRIBUTED,
// any other std::exception -> ERR_NATIVE. Also argument readers that throw TypeError naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

namespace rexrag::napi {

struct ErrorInfo {
  std::string code;
  std::string message;
};

/// Describes the exception being handled; call only inside a catch block.
ErrorInfo describe_current_exception();

/// Builds the JS error (an instance of the class registered with setErrorClass when there is one).
Napi::Error make_error(Napi::Env env, const ErrorInfo& info);

/// Registers the JS error class used by make_error: `new ErrorClass(message, code)`.
void set_error_class(Napi::Env env, Napi::Function error_class);

/// Runs `body`, translating any C++ exception into a thrown JS error.
template <typename Body>
Napi::Value guarded(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw make_error(env, describe_current_exception());
  }
}

// Argument readers: each throws a TypeError naming the argument and what it received.
std::string type_name(const Napi::Value& value);
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t index, const char* name);
double number_field(const Napi::Object& object, const char* key, const char* owner);
int64_t integer_field(const Napi::Object& object, const char* key, const char* owner);
std::string string_field(const Napi::Object& object, const char* key, const char* owner);
bool has_field(const Napi::Object& object, const char* key);

/// Required fields of one JS object, each read with a TypeError naming `owner.key` when it is missing or has the
/// wrong type. The options objects come from zod-parsed configs, so every field is present.
class Fields {
 public:
  Fields(Napi::Object object, std::string owner) : object_(std::move(object)), owner_(std::move(owner)) {}

  double number(const char* key) const { return number_field(object_, key, owner_.c_str()); }
  int64_t integer(const char* key) const { return integer_field(object_, key, owner_.c_str()); }
  std::string string(const char* key) const { return string_field(object_, key, owner_.c_str()); }
  bool boolean(const char* key) const;
  /// A nested object, read with the owner `owner.key`.
  Fields object(const char* key) const;
  /// Reads the listed fields (key, member of `out`) by the member's type: double, int64_t, bool or std::string.
  /// With `optional`, absent fields keep their value. One table per struct instead of a line per field.
  template <typename Struct, typename Value>
  void read_into(Struct& out, std::initializer_list<std::pair<const char*, Value Struct::*>> keys,
                 bool optional = false) const {
    for (const auto& [key, member] : keys) {
      if (optional && !has_field(object_, key)) continue;
      if constexpr (std::is_same_v<Value, double>) {
        out.*member = number(key);
      } else if constexpr (std::is_same_v<Value, int64_t>) {
        out.*member = integer(key);
      } else if constexpr (std::is_same_v<Value, bool>) {
        out.*member = boolean(key);
      } else {
        out.*member = string(key);
      }
    }
  }
  /// A string that must be one of `names`: the value paired with it.
  template <typename Enum>
  Enum choice(const char* key, std::initializer_list<std::pair<const char*, Enum>> names) const {
    const std::string value = string(key);
    std::string listed;
    for (const auto& [name, result] : names) {
      if (value == name) return result;
      listed += (listed.empty() ? "" : ", ") + std::string(name);
    }
    throw Napi::TypeError::New(object_.Env(), owner_ + "." + key + " must be one of " + listed + ", got \"" +
                                                  value + "\"");
  }

 private:
  Napi::Object object_;
  std::string owner_;
};

}  // namespace rexrag::napi
