// Implements errors.h. Includes only c10's exception header, not the rest of libtorch.
#include "napi/errors.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <new>

#include "core/errors.h"
#include "core/process_group.h"
#include "napi/addon_data.h"

namespace rexrag::napi {
ErrorInfo describe_current_exception() {
  try {
    throw;
  } catch (const c10::OutOfMemoryError& error) {
    return {"ERR_OOM", error.what_without_backtrace()};
  } catch (const c10::Error& error) {
    return {"ERR_TORCH", error.what_without_backtrace()};
  } catch (const std::bad_alloc&) {
    return {"ERR_OOM", "out of memory"};
  } catch (const InvalidArgument& error) {
    return {"ERR_INVALID_ARG", error.what()};
  } catch (const DistributedError& error) {
    return {"ERR_DISTRIBUTED", error.what()};
  } catch (const std::exception& error) {
    return {"ERR_NATIVE", error.what()};
  } catch (...) {
    return {"ERR_NATIVE", "unknown native exception"};
  }
}

Napi::Error make_error(Napi::Env env, const ErrorInfo& info) {
  AddonData& data = addon_data(env);
  if (!data.error_class.IsEmpty()) {
    Napi::Object error = data.error_class.New({Napi::String::New(env, info.message),
                                               Napi::String::New(env, info.code)});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

AddonData& addon_data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);  // deleted by N-API when the environment shuts down
  }
  return *data;
}

void set_error_class(Napi::Env env, Napi::Function error_class) {
  addon_data(env).error_class = Napi::Persistent(error_class);
}

std::string type_name(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return value.IsArray() ? "array" : "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

Napi::Object object_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value value = info[index];
  if (!value.IsObject() || value.IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an object, got " + type_name(value));
  }
  return value.As<Napi::Object>();
}

double number_field(const Napi::Object& object, const char* key, const char* owner) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(object.Env(), std::string(owner) + "." + key + " must be a number, got " +
                                                 type_name(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

int64_t integer_field(const Napi::Object& object, const char* key, const char* owner) {
  double number = number_field(object, key, owner);
  if (!std::isfinite(number) || std::floor(number) != number) {
    throw Napi::TypeError::New(object.Env(), std::string(owner) + "." + key + " must be an integer, got " +
                                                 std::to_string(number));
  }
  return static_cast<int64_t>(number);
}

std::string string_field(const Napi::Object& object, const char* key, const char* owner) {
  Napi::Value value = object.Get(key);
  if (!value.IsString()) {
    throw Napi::TypeError::New(object.Env(), std::string(owner) + "." + key + " must be a string, got " +
                                                 type_name(value));
  }
  return value.As<Napi::String>().Utf8Value();
}

bool has_field(const Napi::Object& object, const char* key) {
  return object.Has(key) && !object.Get(key).IsUndefined();
}

bool Fields::boolean(const char* key) const {
  Napi::Value value = object_.Get(key);
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(object_.Env(), owner_ + "." + key + " must be a boolean, got " + type_name(value));
  }
  return value.As<Napi::Boolean>().Value();
}

Fields Fields::object(const char* key) const {
  Napi::Value value = object_.Get(key);
  if (!value.IsObject() || value.IsArray()) {
    throw Napi::TypeError::New(object_.Env(), owner_ + "." + key + " must be an object, got " + type_name(value));
  }
  return Fields(value.As<Napi::Object>(), owner_ + "." + key);
}

}  // namespace rexrag::napi
