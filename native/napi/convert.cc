// Implements convert.h.
#include "napi/convert.h"

#include <cmath>
#include <cstring>

#include "napi/errors.h"

namespace rexrag::napi {
namespace {

Napi::TypeError type_error(Napi::Env env, const std::string& name, const std::string& expected,
                           const Napi::Value& got) {
  return Napi::TypeError::New(env, name + " must be " + expected + ", got " + type_name(got));
}

template <typename Out>
std::vector<Out> integer_list(const Napi::Value& value, const std::string& name) {
  Napi::Env env = value.Env();
  std::vector<Out> out;
  if (value.IsTypedArray()) {
    auto typed = value.As<Napi::TypedArray>();
    if (typed.TypedArrayType() == napi_int32_array) {
      auto array = value.As<Napi::Int32Array>();
      out.assign(array.Data(), array.Data() + array.ElementLength());
      return out;
    }
    throw type_error(env, name, "an Int32Array or an array of integers", value);
  }
  if (!value.IsArray()) throw type_error(env, name, "an Int32Array or an array of integers", value);
  auto array = value.As<Napi::Array>();
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw type_error(env, name + "[" + std::to_string(i) + "]", "an integer", item);
    double number = item.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(number) || std::floor(number) != number) {
      throw Napi::TypeError::New(env, name + "[" + std::to_string(i) + "] must be an integer, got " +
                                          std::to_string(number));
    }
    out.push_back(static_cast<Out>(number));
  }
  return out;
}

}  // namespace

std::vector<float> float_list(const Napi::Value& value, const std::string& name) {
  Napi::Env env = value.Env();
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto array = value.As<Napi::Float32Array>();
    return std::vector<float>(array.Data(), array.Data() + array.ElementLength());
  }
  if (!value.IsArray()) throw type_error(env, name, "a Float32Array or an array of numbers", value);
  auto array = value.As<Napi::Array>();
  std::vector<float> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw Napi::TypeError::New(env, name + "[" + std::to_string(i) + "] must be a number");
    out[i] = item.As<Napi::Number>().FloatValue();
  }
  return out;
}

std::vector<uint8_t> uint8_list(const Napi::Value& value, const std::string& name) {
  if (value.IsTypedArray()) {
    auto typed = value.As<Napi::TypedArray>();
    if (typed.TypedArrayType() == napi_uint8_array || typed.TypedArrayType() == napi_int8_array) {
      const auto* data = static_cast<const uint8_t*>(typed.ArrayBuffer().Data()) + typed.ByteOffset();
      return std::vector<uint8_t>(data, data + typed.ElementLength());
    }
  }
  throw type_error(value.Env(), name, "a Uint8Array or an Int8Array", value);
}

std::vector<int32_t> int32_list(const Napi::Value& value, const std::string& name) {
  return integer_list<int32_t>(value, name);
}

std::vector<int64_t> int64_list(const Napi::Value& value, const std::string& name) {
  return integer_list<int64_t>(value, name);
}

std::vector<std::string> string_list(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) throw type_error(value.Env(), name, "an array of strings", value);
  auto array = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) throw type_error(value.Env(), name + "[" + std::to_string(i) + "]", "a string", item);
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::vector<std::string> bytes_list(const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) throw type_error(value.Env(), name, "an array of Uint8Array", value);
  auto array = value.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw type_error(value.Env(), name + "[" + std::to_string(i) + "]", "a Uint8Array", item);
    }
    auto bytes = item.As<Napi::Uint8Array>();
    out.emplace_back(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
  }
  return out;
}

Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<int32_t>& values) {
  auto array = Napi::Int32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(int32_t));
  return array;
}

Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& values) {
  auto array = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(float));
  return array;
}

Napi::Array to_number_array(Napi::Env env, const std::vector<int64_t>& values) {
  auto array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), static_cast<double>(values[i]));
  return array;
}

}  // namespace rexrag::napi
