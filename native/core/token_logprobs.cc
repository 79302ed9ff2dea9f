// Implements token_logprobs.h as a custom autograd function.
// Gradients, with z the logits of one row, p = softmax(z), lse = logsumexp(z), H = -Σ p log p:
//   d logp(t) / dz = onehot(t) - p
//   d H / dz_j     = -p_j (log p_j + H) = -p_j (z_j - lse + H)
#include "core/token_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

namespace rexrag {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct TokenLogProbFunction : torch::autograd::Function<TokenLogProbFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, int64_t chunk, bool with_entropy) {
    // Outputs nobody differentiates (usually the entropy) get no gradient pass at all.
    ctx->set_materialize_grads(false);
    const int64_t rows = hidden.size(0);
    auto options = hidden.options().dtype(at::kFloat);
    at::Tensor logp = at::empty({rows}, options), lse = at::empty({rows}, options);
    at::Tensor entropy = with_entropy ? at::empty({rows}, options) : at::zeros({rows}, options);
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      at::Tensor z = at::matmul(hidden.narrow(0, start, size), weight.t()).to(at::kFloat);  // (c, V)
      at::Tensor chunk_lse = z.logsumexp(-1);                                                 // (c,)
      lse.narrow(0, start, size).copy_(chunk_lse);
      logp.narrow(0, start, size).copy_(z.gather(-1, targets.narrow(0, start, size).unsqueeze(-1)).squeeze(-1) - chunk_lse);
      if (!with_entropy) continue;
      at::Tensor log_p = z.sub_(chunk_lse.unsqueeze(-1));  // in place: the chunk's logits become log-probs
      // H = −Σ p log p as a batched dot product, so no (c, V) product tensor is formed.
      entropy.narrow(0, start, size).copy_(-at::bmm(log_p.exp().unsqueeze(1), log_p.unsqueeze(2)).view({size}));
    }
    ctx->save_for_backward({hidden, weight, targets, lse, entropy});
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["with_entropy"] = with_entropy;
    if (!with_entropy) ctx->mark_non_differentiable({entropy});
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &hidden = saved[0], &weight = saved[1], &targets = saved[2], &lse = saved[3], &entropy = saved[4];
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const at::Tensor& grad_logp = grads[0];
    const at::Tensor& grad_entropy = grads[1];
    const int64_t rows = hidden.size(0);
    at::Tensor grad_hidden = at::zeros_like(hidden);
    at::Tensor grad_weight = at::zeros(weight.sizes(), weight.options().dtype(at::kFloat));
    if (!grad_logp.defined() && !grad_entropy.defined()) {
      return {grad_hidden, grad_weight, at::Tensor(), at::Tensor(), at::Tensor()};
    }
    TORCH_CHECK(!grad_entropy.defined() || ctx->saved_data["with_entropy"].toBool(),
                "the entropy was not computed, so it cannot be differentiated");
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      at::Tensor h = hidden.narrow(0, start, size);
      at::Tensor z = at::matmul(h, weight.t()).to(at::kFloat);  // (c, V), recomputed rather than saved
      at::Tensor log_p = z.sub_(lse.narrow(0, start, size).unsqueeze(-1));  // in place
      at::Tensor entropy_term;  // −(log p + H), only when the entropy is differentiated
      if (grad_entropy.defined()) entropy_term = -(log_p + entropy.narrow(0, start, size).unsqueeze(-1));
      at::Tensor dz = log_p.exp_();  // in place: p
      if (grad_entropy.defined()) {
        at::Tensor g_entropy = grad_entropy.narrow(0, start, size).to(at::kFloat).unsqueeze(-1);  // (c, 1)
        at::Tensor g_logp = grad_logp.defined() ? grad_logp.narrow(0, start, size).to(at::kFloat).unsqueeze(-1)
                                                : at::zeros_like(g_entropy);
        dz = dz * (g_entropy * entropy_term - g_logp);
        dz.scatter_add_(1, targets.narrow(0, start, size).unsqueeze(-1), g_logp);
      } else {
        at::Tensor g_logp = grad_logp.narrow(0, start, size).to(at::kFloat).unsqueeze(-1);  // (c, 1)
        dz.mul_(-g_logp);
        dz.scatter_add_(1, targets.narrow(0, start, size).unsqueeze(-1), g_logp);
      }
      grad_hidden.narrow(0, start, size).copy_(at::matmul(dz.to(weight.scalar_type()), weight));  // (c, H)
      grad_weight.add_(at::matmul(dz.t(), h.to(at::kFloat)));                                     // (V, H)
    }
    return {grad_hidden, grad_weight.to(weight.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& targets, int64_t chunk, bool with_entropy) {
  variable_list out = TokenLogProbFunction::apply(hidden, weight, targets, std::max<int64_t>(1, chunk), with_entropy);
  return {out[0], out[1]};
}

TokenLogprobCheck check_token_logprobs(int64_t rows, int64_t hidden_size, int64_t vocab, int64_t chunk,
                                       double entropy_weight, uint64_t seed) {
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
      std::tie(logp, entropy) = token_logprobs(h, W, targets, chunk);
    } else {
      at::Tensor log_probs = at::log_softmax(at::matmul(h, W.t()), -1);  // (N, V): the naive way
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

}  // namespace rexrag
