// Implements attention_check.h.
#include "core/attention_check.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "core/check_math.h"
#include "core/errors.h"
#include "core/fused_attention.h"
#include "core/qwen2.h"

namespace rexrag {
namespace {

/// HF's attention op by op, q (B, T, nH, D), k and v (B, T, nKV, D), cos and sin (B, T, D) -> (B, T, nH·D).
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos,
                               const at::Tensor& sin, const at::Tensor& allowed) {
  const int64_t B = q.size(0), T = q.size(1), heads = q.size(2), D = q.size(3), group = heads / k.size(2);
  const at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);                         // (B, 1, T, D)
  const at::Tensor qr = apply_rotary(q.transpose(1, 2), c, s);                          // (B, nH, T, D)
  const at::Tensor kr = apply_rotary(k.transpose(1, 2), c, s).repeat_interleave(group, 1);  // HF's repeat_kv
  const at::Tensor vr = v.transpose(1, 2).repeat_interleave(group, 1);
  const at::Tensor bias = at::zeros({B, 1, T, T}, q.options()).masked_fill(allowed.logical_not().unsqueeze(1), -1e30);
  const at::Tensor scores = at::matmul(qr, kr.transpose(2, 3)) / std::sqrt(double(D)) + bias;
  return at::matmul(at::softmax(scores, -1), vr).transpose(1, 2).reshape({B, T, heads * D});
}

}  // namespace

AttentionCheck check_fused_attention(int64_t batch, int64_t steps, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                     uint64_t seed) {
  require(batch >= 1 && steps >= 1 && heads >= 1 && kv_heads >= 1 && head_dim >= 2,
          "batch, steps, heads, kv_heads and head_dim must be >= 1 (head_dim >= 2)");
  require(heads % kv_heads == 0 && head_dim % 2 == 0, "heads must be a multiple of kv_heads, head_dim even");
  auto generator = at::detail::createCPUGenerator(seed);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor q = at::randn({batch, steps, heads, head_dim}, generator, options) * 2;
  const at::Tensor k = at::randn({batch, steps, kv_heads, head_dim}, generator, options) * 2;
  const at::Tensor v = at::randn({batch, steps, kv_heads, head_dim}, generator, options);
  // Row b: padding on the left (b % 3 == 1), on the right (b % 3 == 2) or none, a third of the steps.
  at::Tensor valid = at::ones({batch, steps}, options.dtype(at::kBool));
  const int64_t pad = steps / 3;
  for (int64_t b = 0; b < batch; ++b) {
    if (b % 3 == 1) valid[b].narrow(0, 0, pad).fill_(false);
    if (b % 3 == 2) valid[b].narrow(0, steps - pad, pad).fill_(false);
  }
  const at::Tensor allowed = at::ones({steps, steps}, valid.options()).tril().unsqueeze(0) & valid.unsqueeze(1);
  const at::Tensor positions = at::arange(steps, options).unsqueeze(0) + at::arange(batch, options).unsqueeze(1) * 7;
  const at::Tensor inv_freq =
      at::pow(10000.0, -at::arange(0, head_dim, 2, options.dtype(at::kDouble)) / double(head_dim));
  const at::Tensor freqs = positions.to(at::kDouble).unsqueeze(-1) * inv_freq;
  const at::Tensor angles = at::cat({freqs, freqs}, -1).to(at::kFloat);  // (B, T, D)
  const at::Tensor cos = angles.cos(), sin = angles.sin();
  // Queries with no allowed key (the left padding's first) are left out of the loss: neither form's value there
  // is used.
  const at::Tensor attends = allowed.any(-1).unsqueeze(-1);  // (B, T, 1)
  const at::Tensor r = at::randn({batch, steps, heads * head_dim}, generator, options) * attends;

  auto run = [&](at::ScalarType dtype, bool fused) {
    std::vector<at::Tensor> inputs;
    for (const at::Tensor* t : {&q, &k, &v}) inputs.push_back(t->to(dtype).clone().set_requires_grad(true));
    const at::Tensor c = cos.to(dtype), s = sin.to(dtype);
    at::Tensor y = fused ? fused_attention(inputs[0], inputs[1], inputs[2], c, s, allowed)
                         : reference_attention(inputs[0], inputs[1], inputs[2], c, s, allowed);
    (y * r.to(dtype)).sum().backward();
    return std::vector<at::Tensor>{(y * attends).detach(), inputs[0].grad(), inputs[1].grad(), inputs[2].grad()};
  };
  require(fused_attention_applies(q), "the fused attention does not run here (no AVX-512, or REXRAG_KERNELS=aten)");
  const auto exact = run(at::kDouble, false), ours = run(at::kFloat, true), aten = run(at::kFloat, false);
  const auto diff = max_abs_diff;
  AttentionCheck check;
  check.output = diff(ours[0], exact[0]);
  check.grad_q = diff(ours[1], exact[1]);
  check.grad_k = diff(ours[2], exact[2]);
  check.grad_v = diff(ours[3], exact[3]);
  check.aten_output = diff(aten[0], exact[0]);
  check.aten_grad_q = diff(aten[1], exact[1]);
  check.aten_grad_k = diff(aten[2], exact[2]);
  check.aten_grad_v = diff(aten[3], exact[3]);
  check.same_on_one_thread = same_on_one_thread([&] { return run(at::kFloat, true); });
  return check;
}

}  // namespace rexrag
