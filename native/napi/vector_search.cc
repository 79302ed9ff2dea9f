// N-API wrapper of core/vector_search.h: flatSearch(vectors, dim, queries, k, chunkRows) -> {indices, scores}.
// Synchronous: the caller's Float32Arrays are read in place (no copy) and one search over a corpus in memory is
// a few matrix products, like the JavaScript loop it replaces.
#include "napi/vector_search.h"

#include <string>

#include "core/vector_search.h"
#include "napi/errors.h"

namespace rexrag::napi {
namespace {

Napi::Float32Array float32_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array, got " + type_name(value));
  }
  return value.As<Napi::Float32Array>();
}

int64_t integer_arg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min) {
  const Napi::Value value = info[index];
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!value.IsNumber() || number != static_cast<double>(static_cast<int64_t>(number)) || number < static_cast<double>(min)) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an integer >= " + std::to_string(min) + ", got " +
                                               (value.IsNumber() ? std::to_string(number) : type_name(value)));
  }
  return static_cast<int64_t>(number);
}

Napi::Value FlatSearchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array vectors = float32_arg(info, 0, "vectors");
  const int64_t dim = integer_arg(info, 1, "dim", 1);
  Napi::Float32Array queries = float32_arg(info, 2, "queries");
  const int64_t k = integer_arg(info, 3, "k", 1);
  const int64_t chunk_rows = integer_arg(info, 4, "chunkRows", 1);
  const auto vector_values = static_cast<int64_t>(vectors.ElementLength());
  const auto query_values = static_cast<int64_t>(queries.ElementLength());
  if (vector_values == 0 || vector_values % dim != 0) {
    throw Napi::RangeError::New(env, "vectors.length (" + std::to_string(vector_values) + ") must be a positive multiple of dim (" + std::to_string(dim) + ")");
  }
  if (query_values == 0 || query_values % dim != 0) {
    throw Napi::RangeError::New(env, "queries.length (" + std::to_string(query_values) + ") must be a positive multiple of dim (" + std::to_string(dim) + ")");
  }
  const int64_t rows = vector_values / dim;
  const int64_t query_count = query_values / dim;
  if (k > rows) throw Napi::RangeError::New(env, "k (" + std::to_string(k) + ") is larger than the " + std::to_string(rows) + " vectors");
  return guarded(env, [&]() -> Napi::Value {
    Napi::Int32Array indices = Napi::Int32Array::New(env, static_cast<size_t>(query_count * k));
    Napi::Float32Array scores = Napi::Float32Array::New(env, static_cast<size_t>(query_count * k));
    flat_top_k(vectors.Data(), rows, dim, queries.Data(), query_count, k, chunk_rows, indices.Data(), scores.Data());
    Napi::Object out = Napi::Object::New(env);
    out.Set("indices", indices);
    out.Set("scores", scores);
    return out;
  });
}

}  // namespace

void register_vector_search(Napi::Env env, Napi::Object exports) {
  exports.Set("flatSearch", Napi::Function::New(env, FlatSearchJs, "flatSearch"));
}

}  // namespace rexrag::napi
