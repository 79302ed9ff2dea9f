// Implements paged_attention.h: a CPU kernel (float, bfloat16 or float16 pools, float arithmetic) that walks each
// token's page table, and for other devices the same result from ATen ops over gathered keys.
#include "core/paged_attention.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/gemm.h"
#include "core/vector_ops.h"

namespace rexrag {
namespace {

at::Tensor write_slots(const PackedTokens& tokens, const at::Device& device) {
  std::vector<int64_t> slots(tokens.size());
  for (int64_t t = 0; t < tokens.size(); ++t) slots[t] = KVPages::slot(*tokens.tables[t], tokens.positions[t]);
  return at::tensor(slots, at::kLong).to(device);
}

/// Any device: gather every token's keys into (N, S, nKV, D), masked past its position, then two matmuls.
at::Tensor attend_gathered(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                           const PackedTokens& tokens) {
  const int64_t N = q.size(0), heads = q.size(1), D = q.size(2), kv_heads = keys.size(1);
  const int64_t S = *std::max_element(tokens.positions.begin(), tokens.positions.end()) + 1;
  std::vector<int64_t> slots(N * S);
  std::vector<uint8_t> hidden(N * S);
  for (int64_t t = 0; t < N; ++t) {
    for (int64_t s = 0; s < S; ++s) {
      const bool seen = s <= tokens.positions[t];
      slots[t * S + s] = KVPages::slot(*tokens.tables[t], seen ? s : 0);  // masked: any valid slot
      hidden[t * S + s] = seen ? 0 : 1;
    }
  }
  const at::Tensor index = at::tensor(slots, at::kLong).to(q.device());
  const at::Tensor masked = at::tensor(hidden, at::kByte).to(q.device()).to(at::kBool).view({N, 1, 1, S});
  const at::Tensor k = keys.index_select(0, index).view({N, S, kv_heads, D}).permute({0, 2, 3, 1});    // (N, nKV, D, S)
  const at::Tensor v = values.index_select(0, index).view({N, S, kv_heads, D}).permute({0, 2, 1, 3});  // (N, nKV, S, D)
  const at::Tensor grouped = q.reshape({N, kv_heads, heads / kv_heads, D});                           // (N, nKV, g, D)
  at::Tensor scores = at::matmul(grouped, k.to(q.scalar_type())) / std::sqrt(static_cast<double>(D));
  scores = scores.masked_fill(masked, -INFINITY);
  const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, v.to(q.scalar_type())).reshape({N, heads * D});
}

/// Float copy of n values (the kernel's arithmetic is float whatever the pools hold).
template <typename scalar_t>
const float* as_float(const scalar_t* values, int64_t n, float* buffer) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    return values;
  } else {
    for (int64_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(values[i]);
    return buffer;
  }
}

template <typename scalar_t>
void attend_cpu(const float* q, float* out, const scalar_t* keys, const scalar_t* values, int64_t heads,
                int64_t kv_heads, int64_t D, const PackedTokens& tokens) {
  const int64_t N = tokens.size(), group = heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const VectorOps ops = vector_ops();
  int64_t longest = 0;
  for (int64_t p : tokens.positions) longest = std::max(longest, p + 1);
  // One task per (token, kv head): each key and value is read once for all the query heads that share it.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, longest * heads * D));
  at::parallel_for(0, N * kv_heads, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(longest * group), row(D);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / kv_heads, g = task % kv_heads, seen = tokens.positions[t] + 1;
      const std::vector<int32_t>& table = *tokens.tables[t];
      const float* query = q + (t * heads + g * group) * D;
      float* result = out + (t * heads + g * group) * D;
      for (int64_t s = 0; s < seen; ++s) {
        const float* key = as_float(keys + (KVPages::slot(table, s) * kv_heads + g) * D, D, row.data());
        for (int64_t j = 0; j < group; ++j) scores[j * seen + s] = ops.dot(query + j * D, key, D) * scale;
      }
      for (int64_t j = 0; j < group; ++j) {
        float* head_scores = scores.data() + j * seen;
        const float top = *std::max_element(head_scores, head_scores + seen);
        float total = 0;
        for (int64_t s = 0; s < seen; ++s) total += head_scores[s] = std::exp(head_scores[s] - top);
        const float inverse = 1.0f / total;
        for (int64_t s = 0; s < seen; ++s) head_scores[s] *= inverse;
        std::fill(result + j * D, result + (j + 1) * D, 0.0f);
      }
      for (int64_t s = 0; s < seen; ++s) {
        const float* value = as_float(values + (KVPages::slot(table, s) * kv_heads + g) * D, D, row.data());
        for (int64_t j = 0; j < group; ++j) ops.axpy(result + j * D, scores[j * seen + s], value, D);
      }
    }
  });
}

}  // namespace

at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, KVPages& cache, int64_t layer,
                           const PackedTokens& tokens) {
  at::Tensor& keys = cache.keys(layer);
  at::Tensor& values = cache.values(layer);
  const int64_t N = q.size(0), heads = q.size(1), D = q.size(2), kv_heads = k.size(1);
  TORCH_CHECK(tokens.size() == N && k.size(0) == N && heads % kv_heads == 0, "paged_attention: shapes disagree");
  static const bool aten_only = aten_kernels_requested();
  if (!q.device().is_cpu() || aten_only) {
    const at::Tensor slots = write_slots(tokens, keys.device());
    keys.index_copy_(0, slots, k.to(keys.scalar_type()));
    values.index_copy_(0, slots, v.to(values.scalar_type()));
    return attend_gathered(q, keys, values, tokens);
  }
  const at::Tensor kc = k.to(keys.scalar_type()).contiguous(), vc = v.to(values.scalar_type()).contiguous();
  const int64_t row_bytes = kv_heads * D * static_cast<int64_t>(keys.element_size());
  auto* key_base = static_cast<char*>(keys.data_ptr());
  auto* value_base = static_cast<char*>(values.data_ptr());
  for (int64_t t = 0; t < N; ++t) {
    const int64_t slot = KVPages::slot(*tokens.tables[t], tokens.positions[t]);
    std::memcpy(key_base + slot * row_bytes, static_cast<const char*>(kc.data_ptr()) + t * row_bytes, row_bytes);
    std::memcpy(value_base + slot * row_bytes, static_cast<const char*>(vc.data_ptr()) + t * row_bytes, row_bytes);
  }
  const at::Tensor q32 = q.to(at::kFloat).contiguous();
  at::Tensor out = at::empty({N, heads * D}, q32.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, keys.scalar_type(), "paged_attention", [&] {
    attend_cpu<scalar_t>(q32.data_ptr<float>(), out.data_ptr<float>(), keys.data_ptr<scalar_t>(),
                         values.data_ptr<scalar_t>(), heads, kv_heads, D, tokens);
  });
  return out.to(q.scalar_type());
}

}  // namespace rexrag
