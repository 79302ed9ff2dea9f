// Implements rms_norm.h. With r = rsqrt(mean(x²) + eps) per row and g the gradient of y = w·x·r:
//   dx_j = r·g_j·w_j − x_j·r³·(Σ_k g_k·w_k·x_k) / H
//   dw_j = Σ_rows g_j·x_j·r
// The forward pass keeps r per row for the backward pass, so neither pass reads x twice from memory.
#include "core/rms_norm.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

#include "core/gemm.h"

namespace rexrag {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kElementsPerTask = 1 << 15;  // rows per thread task: at least this many elements
constexpr int64_t kGradBlockRows = 256;        // the weight's gradient is summed per block of rows, then in order

int64_t row_grain(int64_t width) { return std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(width, 1)); }

void forward_rows(const float* x, const float* w, float* y, float* rstd, int64_t begin, int64_t end, int64_t width,
                  float eps) {
  for (int64_t row = begin; row < end; ++row) {
    const float* xr = x + row * width;
    float* yr = y + row * width;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < width; ++j) sum += xr[j] * xr[j];
    const float r = 1.0f / std::sqrt(sum / static_cast<float>(width) + eps);
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) yr[j] = w[j] * (xr[j] * r);
    rstd[row] = r;
  }
}

/// dx for rows [begin, end), and those rows' share of dw added to `dw_partial` (width floats).
void backward_rows(const float* x, const float* w, const float* rstd, const float* g, float* dx, float* dw_partial,
                   int64_t begin, int64_t end, int64_t width) {
  const float inverse_width = 1.0f / static_cast<float>(width);
  for (int64_t row = begin; row < end; ++row) {
    const float* xr = x + row * width;
    const float* gr = g + row * width;
    float* dxr = dx + row * width;
    const float r = rstd[row];
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < width; ++j) dot += gr[j] * w[j] * xr[j];
    const float correction = r * r * r * dot * inverse_width;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) {
      dxr[j] = r * gr[j] * w[j] - xr[j] * correction;
      dw_partial[j] += gr[j] * xr[j] * r;
    }
  }
}

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& weight_in, double eps) {
    const at::Tensor x = x_in.contiguous(), weight = weight_in.contiguous();
    const int64_t width = x.size(-1), rows = width == 0 ? 0 : x.numel() / width;
    at::Tensor y = at::empty_like(x), rstd = at::empty({rows}, x.options());
    const float *xp = x.data_ptr<float>(), *wp = weight.data_ptr<float>();
    float *yp = y.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    at::parallel_for(0, rows, row_grain(width), [&](int64_t begin, int64_t end) {
      forward_rows(xp, wp, yp, rp, begin, end, width, static_cast<float>(eps));
    });
    ctx->save_for_backward({x, weight, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &rstd = saved[2];
    const at::Tensor g = grads[0].to(at::kFloat).contiguous();
    const int64_t width = x.size(-1), rows = rstd.size(0);
    const int64_t blocks = (rows + kGradBlockRows - 1) / kGradBlockRows;
    at::Tensor dx = at::empty_like(x), dw_blocks = at::zeros({std::max<int64_t>(blocks, 1), width}, x.options());
    const float *xp = x.data_ptr<float>(), *wp = weight.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float *dxp = dx.data_ptr<float>(), *dwp = dw_blocks.data_ptr<float>();
    const int64_t block_grain = std::max<int64_t>(1, row_grain(width) / kGradBlockRows);
    at::parallel_for(0, blocks, block_grain, [&](int64_t first, int64_t last) {
      for (int64_t block = first; block < last; ++block) {
        const int64_t begin = block * kGradBlockRows, end = std::min(rows, begin + kGradBlockRows);
        backward_rows(xp, wp, rp, gp, dxp, dwp + block * width, begin, end, width);
      }
    });
    at::Tensor dw = blocks <= 1 ? dw_blocks[0].clone() : at::zeros({width}, x.options());
    if (blocks > 1) {  // in block order, whatever the thread count
      float* total = dw.data_ptr<float>();
      for (int64_t block = 0; block < blocks; ++block) {
        const float* part = dwp + block * width;
        for (int64_t j = 0; j < width; ++j) total[j] += part[j];
      }
    }
    return {dx, dw, at::Tensor()};
  }
};

}  // namespace

bool fused_rms_norm_applies(const at::Tensor& x, const at::Tensor& weight) {
  return !aten_kernels_requested() && x.device().is_cpu() && weight.device().is_cpu() &&
         x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat && x.dim() >= 1 && weight.dim() == 1 &&
         weight.size(0) == x.size(-1);
}

at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return RmsNormFunction::apply(x, weight, eps);
}

}  // namespace rexrag
