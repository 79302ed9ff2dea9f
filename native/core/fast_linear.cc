// Implements fast_linear.h. Backward of y = x Wᵀ (the bias is left to autograd) with g = dL/dy:
//   dL/dx = g W (gemm_ab with A = g),   dL/dW = gᵀ x (gemm_ab with A = gᵀ, a view: no transposed copies)
#include "core/fast_linear.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/gemm.h"
#include "core/gemm_ab.h"
#include "core/gemm_bf16.h"

namespace rexrag {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool kernel_applies(const at::Tensor& a, const at::Tensor& b) {
  return gemm_available() && a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == at::kFloat &&
         b.scalar_type() == at::kFloat && a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1) &&
         a.numel() > 0 && b.numel() > 0;
}

/// Whether a (M, K) · b (N, K)ᵀ runs faster as outer products (gemm_ab on a copy of bᵀ) than as dot products
/// (gemm_abt). Over a short K the dot-product kernel spends much of its time reducing its sums; the outer-product
/// kernel does not, and with many rows the copy of bᵀ is small next to them, and read in place when N ≤ 512.
/// Measured 1.1-1.6x at the lab's projections (K = 128, 1,600 to 13,440 rows); slower at K = 512 or 80 rows.
bool outer_products_win(int64_t M, int64_t N, int64_t K) {
  return gemm_ab_beats_blas() && K <= 256 && N <= 512 && M >= 512;
}

at::Tensor kernel_product(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  const int64_t M = a.size(0), N = b.size(0), K = a.size(1);
  at::Tensor c = at::empty({M, N}, a.options());
  if (outer_products_win(M, N, K)) {
    const at::Tensor bt = bc.t().contiguous();  // (K, N)
    gemm_ab({ac.data_ptr<float>(), K, 1}, bt.data_ptr<float>(), N, c.data_ptr<float>(), M, N, K, false);
  } else {
    gemm_abt(ac.data_ptr<float>(), bc.data_ptr<float>(), c.data_ptr<float>(), M, N, K);
  }
  return c;
}

bool backward_kernel_applies(const at::Tensor& g, const at::Tensor& b) {
  return gemm_ab_beats_blas() && g.device().is_cpu() && b.device().is_cpu() && g.scalar_type() == at::kFloat &&
         b.scalar_type() == at::kFloat && g.dim() == 2 && b.dim() == 2 && g.size(0) > 0 && g.size(1) > 0 &&
         b.size(1) > 0;
}

/// x (M, K) · Wᵀ on the kernels, forward and backward (the bias is added outside, by autograd).
struct LinearFunction : torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight) {
    ctx->save_for_backward({x, weight});
    return kernel_product(x, weight);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const at::Tensor g = grads[0].contiguous();  // (M, N)
    at::Tensor grad_x, grad_weight;
    if (ctx->needs_input_grad(0)) grad_x = linear_grad_input(g, weight);
    if (ctx->needs_input_grad(1)) grad_weight = linear_grad_weight(g, x);
    return {grad_x, grad_weight};
  }
};

}  // namespace

namespace {

bool fits(const at::Tensor& out, int64_t rows, int64_t columns) {
  return out.is_contiguous() && out.scalar_type() == at::kFloat && out.device().is_cpu() && out.size(0) == rows &&
         out.size(1) == columns;
}

/// out = g·W (or out += when `accumulate`); false when the kernel does not take these operands.
bool grad_input_on_kernel(at::Tensor& out, const at::Tensor& g, const at::Tensor& weight, bool accumulate) {
  if (!backward_kernel_applies(g, weight) || g.size(1) != weight.size(0) || !fits(out, g.size(0), weight.size(1))) {
    return false;
  }
  const at::Tensor gc = g.contiguous(), wc = weight.contiguous();
  const int64_t M = g.size(0), N = g.size(1), K = weight.size(1);
  gemm_ab({gc.data_ptr<float>(), N, 1}, wc.data_ptr<float>(), K, out.data_ptr<float>(), M, K, N, accumulate);
  return true;
}

/// out = gᵀ·x (or out += when `accumulate`); false when the kernel does not take these operands.
bool grad_weight_on_kernel(at::Tensor& out, const at::Tensor& g, const at::Tensor& x, bool accumulate) {
  if (!backward_kernel_applies(g, x) || g.size(0) != x.size(0) || !fits(out, g.size(1), x.size(1))) return false;
  const at::Tensor gc = g.contiguous(), xc = x.contiguous();
  const int64_t M = g.size(0), N = g.size(1), K = x.size(1);
  gemm_ab({gc.data_ptr<float>(), 1, N}, xc.data_ptr<float>(), K, out.data_ptr<float>(), N, K, M, accumulate);  // gᵀ: a view
  return true;
}

}  // namespace

/// Whether g (M, N) · W (N, K) runs faster as dot products over N (gemm_abt on a copy of Wᵀ) than on gemm_ab:
/// measured 1.3-1.6x at the lab's MLP shapes (N or K = 512, 13,440 rows) and 1.0-1.07x at Qwen2.5-0.5B's,
/// 0.9x at 128 x 128. The copy is W's size (at most 64 MiB here), small next to g's rows.
bool grad_input_by_dot_products(const at::Tensor& g, const at::Tensor& weight) {
  return gemm_ab_beats_blas() && kernel_applies(g, weight.t()) && g.size(0) >= 512 &&
         std::max(weight.size(0), weight.size(1)) >= 256 && weight.numel() <= (int64_t{1} << 24);
}

at::Tensor linear_grad_input(const at::Tensor& g, const at::Tensor& weight) {
  if (grad_input_by_dot_products(g, weight)) {
    const at::Tensor gc = g.contiguous(), wt = weight.t().contiguous();  // Wᵀ (K, N)
    at::Tensor grad = at::empty({g.size(0), weight.size(1)}, g.options());
    gemm_abt(gc.data_ptr<float>(), wt.data_ptr<float>(), grad.data_ptr<float>(), g.size(0), weight.size(1),
             g.size(1));
    return grad;
  }
  at::Tensor grad = at::empty({g.size(0), weight.size(1)}, g.options());
  return grad_input_on_kernel(grad, g, weight, false) ? grad : at::mm(g, weight);
}

at::Tensor linear_grad_weight(const at::Tensor& g, const at::Tensor& x) {
  at::Tensor grad = at::empty({g.size(1), x.size(1)}, g.options());
  return grad_weight_on_kernel(grad, g, x, false) ? grad : at::mm(g.t(), x);
}

void add_linear_grad_input(at::Tensor& out, const at::Tensor& g, const at::Tensor& weight) {
  if (!grad_input_on_kernel(out, g, weight, true)) out.add_(at::mm(g, weight));
}

void add_linear_grad_weight(at::Tensor& out, const at::Tensor& g, const at::Tensor& x) {
  if (!grad_weight_on_kernel(out, g, x, true)) out.add_(at::mm(g.t(), x));
}

at::Tensor matmul_abt(const at::Tensor& a, const at::Tensor& b) {
  return kernel_applies(a, b) ? kernel_product(a, b) : at::matmul(a, b.t());
}

namespace {

/// Whether x (M, K) · weight (N, K)ᵀ + bias runs on gemm_bf16.h: bfloat16 CPU operands, no gradient wanted.
bool bf16_kernel_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool differentiable) {
  auto bf16_cpu = [](const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 && t.device().is_cpu(); };
  return !differentiable && gemm_bf16_available() && bf16_cpu(x) && bf16_cpu(weight) &&
         (!bias.defined() || bf16_cpu(bias)) && x.dim() == 2 && weight.dim() == 2 && x.size(1) == weight.size(1) &&
         x.numel() > 0 && weight.numel() > 0;
}

/// The bfloat16 product with float32 sums, the bias added in float32, rounded to bfloat16 once.
at::Tensor bf16_product(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const at::Tensor xc = x.contiguous(), wc = weight.contiguous();
  at::Tensor sums = at::empty({x.size(0), weight.size(0)}, x.options().dtype(at::kFloat));
  gemm_bf16_abt(reinterpret_cast<const uint16_t*>(xc.data_ptr<at::BFloat16>()),
                reinterpret_cast<const uint16_t*>(wc.data_ptr<at::BFloat16>()), sums.data_ptr<float>(), x.size(0),
                weight.size(0), x.size(1));
  if (bias.defined()) sums.add_(bias);
  return sums.to(at::kBFloat16);
}

}  // namespace

at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (x.dim() < 1 || weight.dim() != 2 || at::autocast::is_cpu_enabled()) return at::linear(x, weight, bias);
  const int64_t K = x.size(-1);
  const at::Tensor x2 = x.reshape({-1, K});
  const bool differentiable = at::GradMode::is_enabled() &&
                              (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = weight.size(0);
  if (bf16_kernel_applies(x2, weight, bias, differentiable)) return bf16_product(x2, weight, bias).view(sizes);
  const bool bias_fits = !bias.defined() || (bias.scalar_type() == at::kFloat && bias.device().is_cpu());
  if (!kernel_applies(x2, weight) || !bias_fits) return at::linear(x, weight, bias);
  at::Tensor y;
  if (differentiable) {
    y = LinearFunction::apply(x2, weight);
    if (bias.defined()) y = y + bias;
  } else {
    y = kernel_product(x2, weight);
    if (bias.defined()) y.add_(bias);
  }
  return y.view(sizes);
}

}  // namespace rexrag
