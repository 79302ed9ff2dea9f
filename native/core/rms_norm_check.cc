// Implements rms_norm_check.h.
#include "core/rms_norm_check.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <vector>

#include "core/check_math.h"
#include "core/errors.h"
#include "core/rms_norm.h"

namespace rexrag {
namespace {

constexpr double kEps = 1e-6;

/// HF's Qwen2RMSNorm, op by op.
at::Tensor reference_rms_norm(const at::Tensor& x, const at::Tensor& weight) {
  return weight * (x * at::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + kEps));
}

}  // namespace

RmsNormCheck check_rms_norm(int64_t rows, int64_t width, uint64_t seed) {
  require(rows >= 1 && width >= 1, "rows and width must be >= 1");
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = at::TensorOptions().dtype(at::kFloat);
  // Rows of different scales, so the normalisation matters; a weight away from 1, so its gradient does.
  const at::Tensor x = at::randn({rows, width}, generator, options) * at::rand({rows, 1}, generator, options) * 4;
  const at::Tensor weight = at::randn({width}, generator, options);
  const at::Tensor r = at::randn({rows, width}, generator, options);
  auto run = [&](at::ScalarType dtype, bool fused) {
    at::Tensor xi = x.to(dtype).clone().set_requires_grad(true), wi = weight.to(dtype).clone().set_requires_grad(true);
    at::Tensor y = fused ? fused_rms_norm(xi, wi, kEps) : reference_rms_norm(xi, wi);
    (y * r.to(dtype)).sum().backward();
    return std::vector<at::Tensor>{y.detach(), xi.grad(), wi.grad()};
  };
  require(fused_rms_norm_applies(x, weight), "the fused RMSNorm is switched off (REXRAG_KERNELS=aten)");
  const auto exact = run(at::kDouble, false), ours = run(at::kFloat, true), aten = run(at::kFloat, false);
  const auto diff = max_abs_diff;
  RmsNormCheck check;
  check.output = diff(ours[0], exact[0]);
  check.grad_input = diff(ours[1], exact[1]);
  check.grad_weight = diff(ours[2], exact[2]);
  check.aten_output = diff(aten[0], exact[0]);
  check.aten_grad_input = diff(aten[1], exact[1]);
  check.aten_grad_weight = diff(aten[2], exact[2]);
  check.same_on_one_thread = same_on_one_thread([&] { return run(at::kFloat, true); });
  return check;
}

}  // namespace rexrag
