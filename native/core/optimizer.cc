// Implements optimizer.h.
#include "core/optimizer.h"

#include <algorithm>
#include <cmath>

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
