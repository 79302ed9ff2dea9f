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
                               const at::Tensor& targets, int64_t chunk) {
    const int64_t rows = hidden.size(0);
    auto options = hidden.options().dtype(at::kFloat);
    at::Tensor logp = at::empty({rows}, options), entropy = at::empty({rows}, options), lse = at::empty({rows}, options);
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      at::Tensor z = at::matmul(hidden.narrow(0, start, size), weight.t()).to(at::kFloat);  // (c, V)
      at::Tensor chunk_lse = z.logsumexp(-1);                                                 // (c,)
      at::Tensor p = (z - chunk_lse.unsqueeze(-1)).exp();                                    // (c, V)
      lse.narrow(0, start, size).copy_(chunk_lse);
      logp.narrow(0, start, size).copy_(z.gather(-1, targets.narrow(0, start, size).unsqueeze(-1)).squeeze(-1) - chunk_lse);
      entropy.narrow(0, start, size).copy_(chunk_lse - (p * z).sum(-1));
    }
    ctx->save_for_backward({hidden, weight, targets, lse, entropy});
    ctx->saved_data["chunk"] = chunk;
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
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      at::Tensor h = hidden.narrow(0, start, size);
      at::Tensor z = at::matmul(h, weight.t()).to(at::kFloat);                   // (c, V)
      at::Tensor log_p = z - lse.narrow(0, start, size).unsqueeze(-1);           // (c, V)
      at::Tensor p = log_p.exp();                                                // (c, V)
      at::Tensor dz = at::zeros_like(z);
      if (grad_logp.defined()) {
        at::Tensor g = grad_logp.narrow(0, start, size).to(at::kFloat).unsqueeze(-1);  // (c, 1)
        dz = -p * g;
        dz.scatter_add_(1, targets.narrow(0, start, size).unsqueeze(-1), g);
      }
      if (grad_entropy.defined()) {
        at::Tensor g = grad_entropy.narrow(0, start, size).to(at::kFloat).unsqueeze(-1);  // (c, 1)
        dz = dz - g * p * (log_p + entropy.narrow(0, start, size).unsqueeze(-1));
      }
      grad_hidden.narrow(0, start, size).copy_(at::matmul(dz.to(weight.scalar_type()), weight));  // (c, H)
      grad_weight.add_(at::matmul(dz.t(), h.to(at::kFloat)));                                     // (V, H)
    }
    return {grad_hidden, grad_weight.to(weight.scalar_type()), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& targets, int64_t chunk) {
  variable_list out = TokenLogProbFunction::apply(hidden, weight, targets, std::max<int64_t>(1, chunk));
  return {out[0], out[1]};
}

}  // namespace rexrag
