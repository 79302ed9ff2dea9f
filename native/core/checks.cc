// Implements checks.h on the trainer's own pieces (policy_loss, adamw_update / adamw_tensor, token_logprobs).
#include "core/checks.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/check_math.h"
#include "core/errors.h"
#include "core/fast_linear.h"
#include "core/gemm_bf16.h"
#include "core/optimizer.h"
#include "core/policy_loss.h"
#include "core/token_logprobs.h"

namespace rexrag {

LossCheck check_policy_loss(const std::vector<float>& logps, const std::vector<float>& entropies,
                            const std::vector<float>& behaviour, const std::vector<float>& ref,
                            const std::vector<float>& advantages, const std::vector<float>& loss_mask,
                            const std::vector<int64_t>& lengths, const LossConfig& config) {
  const auto total = static_cast<int64_t>(logps.size());
  int64_t sum = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  require(sum == total, "lengths add up to " + std::to_string(sum) + " but logps has " + std::to_string(total));
  for (size_t size : {entropies.size(), behaviour.size(), advantages.size(), loss_mask.size()}) {
    require(static_cast<int64_t>(size) == total, "every per-token array must have " + std::to_string(total) + " values");
  }
  require(ref.empty() || static_cast<int64_t>(ref.size()) == total, "refLogps must be empty or match logps");
  require(!ref.empty() || config.kl_type == KlType::None, "refLogps are needed unless klType is none");
  std::vector<int64_t> selected, row_of;
  LossNormaliser normaliser;
  int64_t start = 0;
  for (size_t r = 0; r < lengths.size(); ++r) {
    double row_tokens = 0;
    for (int64_t t = 0; t < lengths[r]; ++t) {
      if (loss_mask[start + t] != 0) {
        selected.push_back(start + t);
        row_of.push_back(static_cast<int64_t>(r));
        row_tokens += 1;
      }
    }
    normaliser.tokens += row_tokens;
    normaliser.rows += row_tokens > 0;
    start += lengths[r];
  }
  auto from = [](const std::vector<float>& v) {
    return at::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, at::kFloat).clone();
  };
  at::Tensor index = at::tensor(selected, at::kLong);
  at::Tensor logp_all = from(logps).set_requires_grad(true);
  at::Tensor entropy_all = from(entropies).set_requires_grad(true);
  LossInputs inputs;
  inputs.logp = logp_all.index_select(0, index);
  inputs.entropy = entropy_all.index_select(0, index);
  inputs.behaviour = from(behaviour).index_select(0, index);
  inputs.advantages = from(advantages).index_select(0, index);
  if (!ref.empty()) inputs.ref = from(ref).index_select(0, index);
  inputs.row = at::tensor(row_of, at::kLong);
  inputs.rows = static_cast<int64_t>(lengths.size());
  LossOutput output = policy_loss(inputs, config, normaliser);
  output.loss.backward();
  LossCheck check;
  check.loss = output.loss.item<double>();
  loss_means(output.sums, check.metrics);
  auto grad_values = [&](const at::Tensor& t) {
    at::Tensor g = t.grad().defined() ? t.grad() : at::zeros_like(t);
    return std::vector<float>(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
  };
  check.grad_logps = grad_values(logp_all);
  check.grad_entropies = grad_values(entropy_all);
  return check;
}

void adamw_update_arrays(std::vector<float>& params, const std::vector<float>& grads, double grad_scale,
                         std::vector<float>& exp_avg, std::vector<float>& exp_avg_sq, int64_t step,
                         const OptimizerOptions& options, double lr, bool fused) {
  const auto n = static_cast<int64_t>(params.size());
  require(static_cast<int64_t>(grads.size()) == n && static_cast<int64_t>(exp_avg.size()) == n &&
              static_cast<int64_t>(exp_avg_sq.size()) == n,
          "params, grads, expAvg and expAvgSq must have the same length");
  require(step >= 1, "step must be >= 1");
  at::Tensor p = at::from_blob(params.data(), {n}, at::kFloat);
  at::Tensor g = at::from_blob(const_cast<float*>(grads.data()), {n}, at::kFloat);
  at::Tensor m = at::from_blob(exp_avg.data(), {n}, at::kFloat);
  at::Tensor v = at::from_blob(exp_avg_sq.data(), {n}, at::kFloat);
  if (fused) {
    adamw_update(p, g, grad_scale, m, v, step, options, lr);
  } else {
    at::Tensor scaled = g * grad_scale;
    adamw_tensor(p, scaled, m, v, step, options, lr);
  }
}

TokenLogprobCheck check_token_logprobs(int64_t rows, int64_t hidden_size, int64_t vocab, int64_t chunk,
                                       double entropy_weight, uint64_t seed, int64_t max_logits, double temperature) {
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = at::TensorOptions().dtype(at::kFloat);
  at::Tensor hidden = at::randn({rows, hidden_size}, generator, options);
  at::Tensor weight = at::randn({vocab, hidden_size}, generator, options) * 0.5;
  at::Tensor targets = at::randint(vocab, {rows}, generator, at::TensorOptions().dtype(at::kLong));
  at::Tensor w = at::randn({rows}, generator, options), u = at::randn({rows}, generator, options);
  auto run = [&](bool kernel) {
    at::Tensor h = hidden.clone().set_requires_grad(true), W = weight.clone().set_requires_grad(true);
    at::Tensor logp, entropy;
    if (kernel) {
      std::tie(logp, entropy) = token_logprobs(h, W, targets, chunk, temperature, true, max_logits);
    } else {
      at::Tensor log_probs = at::log_softmax(at::matmul(h, W.t()) / temperature, -1);  // (N, V): the naive way
      logp = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
      entropy = -(log_probs.exp() * log_probs).sum(-1);
    }
    at::Tensor objective = (w * logp).sum();
    if (entropy_weight != 0) objective = objective + entropy_weight * (u * entropy).sum();
    objective.backward();
    return std::vector<at::Tensor>{logp.detach(), entropy.detach(), h.grad(), W.grad()};
  };
  auto ours = run(true), plain = run(false);
  auto diff = [](const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); };
  return {diff(ours[0], plain[0]), diff(ours[1], plain[1]), diff(ours[2], plain[2]), diff(ours[3], plain[3])};
}

LinearCheck check_fast_linear(int64_t rows, int64_t in_features, int64_t out_features, bool with_bias,
                              uint64_t seed) {
  require(rows >= 1 && in_features >= 1 && out_features >= 1, "rows, inFeatures and outFeatures must be >= 1");
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor x = at::randn({rows, in_features}, generator, options);
  const at::Tensor weight = at::randn({out_features, in_features}, generator, options);
  const at::Tensor bias = with_bias ? at::randn({out_features}, generator, options) : at::Tensor();
  const at::Tensor r = at::randn({rows, out_features}, generator, options);
  // y = x Wᵀ + b and the gradients of Σ r·y, by one implementation, all differentiated by autograd.
  auto run = [&](at::ScalarType dtype, bool kernel) {
    at::Tensor xi = x.to(dtype).clone().set_requires_grad(true), wi = weight.to(dtype).clone().set_requires_grad(true);
    at::Tensor bi = with_bias ? bias.to(dtype).clone().set_requires_grad(true) : at::Tensor();
    at::Tensor y = kernel ? fast_linear(xi, wi, bi) : at::linear(xi, wi, bi);
    (y * r.to(dtype)).sum().backward();
    return std::vector<at::Tensor>{y.detach(), xi.grad(), wi.grad(), with_bias ? bi.grad() : at::zeros({1})};
  };
  const auto exact = run(at::kDouble, false), ours = run(at::kFloat, true), aten = run(at::kFloat, false);
  auto diff = [](const at::Tensor& a, const at::Tensor& b) { return (a.to(at::kDouble) - b).abs().max().item<double>(); };
  LinearCheck check;
  check.output = diff(ours[0], exact[0]);
  check.grad_input = diff(ours[1], exact[1]);
  check.grad_weight = diff(ours[2], exact[2]);
  check.grad_bias = with_bias ? diff(ours[3], exact[3]) : 0;
  check.aten_output = diff(aten[0], exact[0]);
  check.aten_grad_input = diff(aten[1], exact[1]);
  check.aten_grad_weight = diff(aten[2], exact[2]);
  // The products themselves (the kernels split their tiles over the threads).
  check.same_on_one_thread = same_on_one_thread([&] { return std::vector<at::Tensor>{matmul_abt(x, weight)}; });
  check.same_gradients_on_one_thread = same_on_one_thread([&] {
    return std::vector<at::Tensor>{linear_grad_input(r, weight), linear_grad_weight(r, x)};
  });
  return check;
}

Bf16LinearCheck check_bf16_linear(int64_t rows, int64_t in_features, int64_t out_features, bool with_bias,
                                  uint64_t seed) {
  require(rows >= 1 && in_features >= 1 && out_features >= 1, "rows, inFeatures and outFeatures must be >= 1");
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor x = at::randn({rows, in_features}, generator, options).to(at::kBFloat16);
  const at::Tensor weight = at::randn({out_features, in_features}, generator, options).to(at::kBFloat16);
  const at::Tensor bias = with_bias ? at::randn({out_features}, generator, options).to(at::kBFloat16) : at::Tensor();
  at::NoGradGuard no_grad;
  const at::Tensor exact = at::linear(x.to(at::kDouble), weight.to(at::kDouble),
                                      with_bias ? bias.to(at::kDouble) : at::Tensor());
  const double scale = exact.abs().max().item<double>();
  Bf16LinearCheck check;
  check.output = max_abs_diff(fast_linear(x, weight, bias), exact) / scale;
  check.aten_output = max_abs_diff(at::linear(x, weight, bias), exact) / scale;
  check.same_on_one_thread = same_on_one_thread([&] { return std::vector<at::Tensor>{fast_linear(x, weight, bias)}; });
  check.kernel = gemm_bf16_available();
  return check;
}

}  // namespace rexrag
