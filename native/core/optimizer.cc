// Implements optimizer.h.
#include "core/optimizer.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace rexrag {

void adamw_tensor(at::Tensor& param, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                  int64_t step, const OptimizerOptions& o, double lr) {
  param.mul_(1.0 - lr * o.weight_decay);
  exp_avg.mul_(o.beta1).add_(grad, 1.0 - o.beta1);
  exp_avg_sq.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
  const double bias1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  at::Tensor denom = (exp_avg_sq.sqrt() / std::sqrt(bias2)).add_(o.eps);
  param.addcdiv_(exp_avg, denom, -lr / bias1);
}

namespace {

// Elements per task of the fused loops: large enough that a task's overhead is noise, small enough to split a
// layer's weights over the threads.
constexpr int64_t kGrain = int64_t{1} << 15;

bool fusable(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous();
}

}  // namespace

void adamw_update(at::Tensor& param, const at::Tensor& grad, double grad_scale, at::Tensor& exp_avg,
                  at::Tensor& exp_avg_sq, int64_t step, const OptimizerOptions& o, double lr) {
  const bool has_grad = grad.defined();
  if (!fusable(param) || !fusable(exp_avg) || !fusable(exp_avg_sq) || (has_grad && !fusable(grad))) {
    at::Tensor g = has_grad ? grad.to(at::kFloat) * grad_scale : at::zeros_like(exp_avg);
    at::Tensor param32 = param.detach().to(at::kFloat);
    adamw_tensor(param32, g, exp_avg, exp_avg_sq, step, o, lr);
    param.detach().copy_(param32);
    return;
  }
  // The same arithmetic as adamw_tensor, in float, one element at a time.
  const auto decay = static_cast<float>(1.0 - lr * o.weight_decay);
  const auto beta1 = static_cast<float>(o.beta1), beta2 = static_cast<float>(o.beta2);
  const auto rest1 = static_cast<float>(1.0 - o.beta1), rest2 = static_cast<float>(1.0 - o.beta2);
  const auto step_size = static_cast<float>(lr / (1.0 - std::pow(o.beta1, static_cast<double>(step))));
  const auto sqrt_bias2 = static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, static_cast<double>(step))));
  const auto eps = static_cast<float>(o.eps), scale = static_cast<float>(grad_scale);
  float* p = param.detach().data_ptr<float>();
  float* m = exp_avg.data_ptr<float>();
  float* v = exp_avg_sq.data_ptr<float>();
  const float* g = has_grad ? grad.data_ptr<float>() : nullptr;
  at::parallel_for(0, param.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g != nullptr ? g[i] * scale : 0.0f;
      const float mi = m[i] * beta1 + gi * rest1;
      const float vi = v[i] * beta2 + gi * gi * rest2;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * (mi / (std::sqrt(vi) / sqrt_bias2 + eps));
    }
  });
}

double squared_norm(const at::Tensor& values) {
  if (!fusable(values)) return values.to(at::kFloat).pow(2).sum().item<double>();
  const float* x = values.data_ptr<float>();
  const int64_t n = values.numel();
  std::vector<double> blocks((n + kGrain - 1) / kGrain, 0.0);
  at::parallel_for(0, static_cast<int64_t>(blocks.size()), 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      double sum = 0;
      for (int64_t i = b * kGrain, end = std::min(n, (b + 1) * kGrain); i < end; ++i) sum += double{x[i]} * x[i];
      blocks[b] = sum;
    }
  });
  double total = 0;
  for (double block : blocks) total += block;
  return total;
}

double scheduled_lr(const OptimizerOptions& o, int64_t step) {
  constexpr double kPi = 3.14159265358979323846;
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step) / static_cast<double>(o.warmup_steps);
  if (o.schedule == Schedule::Constant) return o.lr;
  double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) /
                                      static_cast<double>(o.total_steps - o.warmup_steps));
  double cosine = 0.5 * (1.0 + std::cos(kPi * progress));
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

}  // namespace rexrag
