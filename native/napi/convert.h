// Copying between JS values and plain C++ containers, on the main thread, with TypeErrors naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rexrag::napi {

/// Float32Array or an array of numbers.
std::vector<float> float_list(const Napi::Value& value, const std::string& name);
/// Uint8Array or Int8Array (values read as unsigned bytes).
std::vector<uint8_t> uint8_list(const Napi::Value& value, const std::string& name);
/// Int32Array or an array of integers.
std::vector<int32_t> int32_list(const Napi::Value& value, const std::string& name);
/// Int32Array, Float64Array or an array of integers, widened to int64.
std::vector<int64_t> int64_list(const Napi::Value& value, const std::string& name);
std::vector<std::string> string_list(const Napi::Value& value, const std::string& name);
/// An array of Uint8Array, each one byte string.
std::vector<std::string> bytes_list(const Napi::Value& value, const std::string& name);

Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<int32_t>& values);
Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& values);
Napi::Array to_number_array(Napi::Env env, const std::vector<int64_t>& values);

}  // namespace rexrag::napi
