// Implements row_ops.h. Rows are independent, so the loops split over rows; below a few thousand values a
// loop runs on the calling thread.
#include "core/row_ops.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "core/gemm.h"

namespace rexrag {
namespace {

constexpr int64_t kValuesPerTask = 1 << 14;

int64_t row_grain(int64_t row_size) { return std::max<int64_t>(1, kValuesPerTask / std::max<int64_t>(1, row_size)); }

}  // namespace

bool row_ops_apply(const std::vector<at::Tensor>& tensors) {
  if (aten_kernels_requested()) return false;
  for (const at::Tensor& t : tensors) {
    if (!t.device().is_cpu() || t.scalar_type() != at::kFloat || !t.is_contiguous()) return false;
  }
  return true;
}

void rotate_in_place(at::Tensor& x, const std::vector<int64_t>& positions, const at::Tensor& inv_freq) {
  const int64_t N = x.size(0), heads = x.size(1), D = x.size(2), half = D / 2;
  float* data = x.data_ptr<float>();
  const float* freq = inv_freq.data_ptr<float>();
  at::parallel_for(0, N, row_grain(heads * D), [&](int64_t begin, int64_t end) {
    std::vector<float> cos(half), sin(half);
    for (int64_t t = begin; t < end; ++t) {
      const auto position = static_cast<float>(positions[t]);
      for (int64_t i = 0; i < half; ++i) {
        const float angle = position * freq[i];
        cos[i] = std::cos(angle);
        sin[i] = std::sin(angle);
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = data + (t * heads + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * cos[i] - b * sin[i];
          v[i + half] = b * cos[i] + a * sin[i];
        }
      }
    }
  });
}

void silu_mul_in_place(at::Tensor& gate, const at::Tensor& up) {
  const int64_t n = gate.numel();
  float* g = gate.data_ptr<float>();
  const float* u = up.data_ptr<float>();
  at::parallel_for(0, n, kValuesPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  });
}

}  // namespace rexrag
