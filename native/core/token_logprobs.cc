// Implements token_logprobs.h as a custom autograd function.
// Layout: rows in chunks of `chunk`, and within a row chunk the vocabulary in slices, so every slice of the LM
// head matrix is read (and packed by the BLAS) once per row chunk while at most kLogitBudget logits exist at a
// time. The log-sum-exp is accumulated online over the slices (running max m, s = Σ e^{z−m}).
// With a temperature T the logits are z / T: the forward pass divides each slice, and the backward pass divides
// the gradient with respect to the tempered logits by T (skipped at T = 1, so nothing changes there).
// Gradients, with z the (tempered) logits of one row, p = softmax(z), lse = logsumexp(z), H = −Σ p log p:
//   d logp(t) / dz = onehot(t) − p
//   d H / dz_j     = −p_j (log p_j + H) = −p_j (z_j − lse + H)
// Under autocast (autocast.h) the LM-head matmuls, forward and backward, run in autocast's dtype, as a linear
// layer's would; everything after them (log-sum-exp, entropy, the gradient with respect to the logits) stays
// float32, so both passes run with autocast switched off and cast the matmul operands themselves. The LM head is
// cast one vocabulary slice at a time, when the slice is used, so no whole low-precision copy (272 MiB at
// Qwen2.5-0.5B) is alive during a pass; a slice's cast costs 1/c of its products over a chunk of c rows. (The
// process's measured peak under autocast did not move with this: the CPU block cache sets it, see README.)
#include "core/token_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include <limits>

#include "core/autocast.h"
#include "core/fast_linear.h"

namespace rexrag {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

int64_t vocab_slice(int64_t rows, int64_t vocab, int64_t max_logits) {
  return std::min(vocab, std::max<int64_t>(16, max_logits / std::max<int64_t>(rows, 1)));
}

/// One slice of logits, h · w_sliceᵀ / temperature, as float32: (c, w).
at::Tensor slice_logits(const at::Tensor& h, const at::Tensor& w, double temperature) {
  at::Tensor z = matmul_abt(h, w).to(at::kFloat);
  if (temperature != 1.0) z.div_(temperature);
  return z;
}

/// Targets of a row chunk that fall in [v0, v0 + size): their column in the slice, and which rows have one.
std::pair<at::Tensor, at::Tensor> targets_in_slice(const at::Tensor& targets, int64_t v0, int64_t size) {
  at::Tensor inside = (targets >= v0) & (targets < v0 + size);                  // (c,)
  at::Tensor column = (targets - v0).clamp(0, size - 1).unsqueeze(-1);          // (c, 1)
  return {column, inside};
}

struct TokenLogProbFunction : torch::autograd::Function<TokenLogProbFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, int64_t chunk, double temperature, bool with_entropy,
                               int64_t max_logits) {
    // Outputs nobody differentiates (usually the entropy) get no gradient pass at all.
    ctx->set_materialize_grads(false);
    // The caller's autocast decides the matmul dtype; without it the matmuls run in the weights' own dtype.
    const at::DeviceType device = hidden.device().type();
    const AutocastState autocast = AutocastState::current(device);
    const at::ScalarType matmul_dtype = autocast.enabled ? autocast.dtype : weight.scalar_type();
    AutocastScope float32_math(device, {});
    const int64_t rows = hidden.size(0), vocab = weight.size(0);
    auto options = hidden.options().dtype(at::kFloat);
    at::Tensor logp = at::empty({rows}, options), lse = at::empty({rows}, options);
    at::Tensor entropy = with_entropy ? at::empty({rows}, options) : at::zeros({rows}, options);
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      const int64_t slice = vocab_slice(size, vocab, max_logits);
      at::Tensor h = hidden.narrow(0, start, size).to(matmul_dtype), t = targets.narrow(0, start, size);
      at::Tensor m = at::full({size}, -std::numeric_limits<float>::infinity(), options);  // running max
      at::Tensor sum = at::zeros({size}, options);                                       // Σ e^{z−m}
      at::Tensor weighted = at::zeros({size}, options);                                  // Σ e^{z−m}·z
      at::Tensor target_logit = at::zeros({size}, options);
      for (int64_t v0 = 0; v0 < vocab; v0 += slice) {
        const int64_t width = std::min(slice, vocab - v0);
        at::Tensor z = slice_logits(h, weight.narrow(0, v0, width).to(matmul_dtype), temperature);  // (c, w)
        at::Tensor new_m = at::maximum(m, std::get<0>(z.max(-1)));
        at::Tensor rescale = (m - new_m).exp();  // 0 on the first slice (m = −inf)
        at::Tensor e = (z - new_m.unsqueeze(-1)).exp_();
        sum = sum * rescale + e.sum(-1);
        if (with_entropy) weighted = weighted * rescale + at::bmm(e.unsqueeze(1), z.unsqueeze(2)).view({size});
        auto [column, inside] = targets_in_slice(t, v0, width);
        target_logit = at::where(inside, z.gather(-1, column).squeeze(-1), target_logit);
        m = new_m;
      }
      at::Tensor chunk_lse = m + sum.log();
      lse.narrow(0, start, size).copy_(chunk_lse);
      logp.narrow(0, start, size).copy_(target_logit - chunk_lse);
      // Σ p z = Σ e^{z−lse} z = weighted / sum, so H = lse − Σ p z.
      if (with_entropy) entropy.narrow(0, start, size).copy_(chunk_lse - weighted / sum);
    }
    ctx->save_for_backward({hidden, weight, targets, lse, entropy});
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["with_entropy"] = with_entropy;
    ctx->saved_data["max_logits"] = max_logits;
    ctx->saved_data["autocast"] = autocast.enabled;
    ctx->saved_data["matmul_dtype"] = matmul_dtype;
    if (!with_entropy) ctx->mark_non_differentiable({entropy});
    return {logp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &hidden = saved[0], &weight = saved[1], &targets = saved[2], &lse = saved[3], &entropy = saved[4];
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t max_logits = ctx->saved_data["max_logits"].toInt();
    const bool autocast = ctx->saved_data["autocast"].toBool();
    const at::ScalarType matmul_dtype = ctx->saved_data["matmul_dtype"].toScalarType();
    AutocastScope float32_math(hidden.device().type(), {});
    const at::Tensor& grad_logp = grads[0];
    const at::Tensor& grad_entropy = grads[1];
    const int64_t rows = hidden.size(0), vocab = weight.size(0);
    at::Tensor grad_hidden = at::zeros_like(hidden);
    at::Tensor grad_weight = at::zeros(weight.sizes(), weight.options().dtype(at::kFloat));
    if (!grad_logp.defined() && !grad_entropy.defined()) {
      return {grad_hidden, grad_weight, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
    TORCH_CHECK(!grad_entropy.defined() || ctx->saved_data["with_entropy"].toBool(),
                "the entropy was not computed, so it cannot be differentiated");
    for (int64_t start = 0; start < rows; start += chunk) {
      const int64_t size = std::min(chunk, rows - start);
      const int64_t slice = vocab_slice(size, vocab, max_logits);
      at::Tensor h = hidden.narrow(0, start, size), t = targets.narrow(0, start, size);
      at::Tensor h32 = h.to(at::kFloat), h_mm = h.to(matmul_dtype);
      at::Tensor chunk_lse = lse.narrow(0, start, size).unsqueeze(-1);  // (c, 1)
      at::Tensor g_logp = grad_logp.defined() ? grad_logp.narrow(0, start, size).to(at::kFloat).unsqueeze(-1)
                                              : at::zeros_like(chunk_lse);
      at::Tensor g_entropy, chunk_entropy;
      if (grad_entropy.defined()) {
        g_entropy = grad_entropy.narrow(0, start, size).to(at::kFloat).unsqueeze(-1);
        chunk_entropy = entropy.narrow(0, start, size).unsqueeze(-1);
      }
      at::Tensor grad_h = at::zeros({size, hidden.size(1)}, hidden.options().dtype(at::kFloat));
      for (int64_t v0 = 0; v0 < vocab; v0 += slice) {
        const int64_t width = std::min(slice, vocab - v0);
        at::Tensor w = weight.narrow(0, v0, width), w_mm = w.to(matmul_dtype);
        at::Tensor log_p = slice_logits(h_mm, w_mm, temperature).sub_(chunk_lse);  // (c, w), recomputed
        at::Tensor entropy_term;  // −(log p + H), only when the entropy is differentiated
        if (g_entropy.defined()) entropy_term = -(log_p + chunk_entropy);
        at::Tensor dz = log_p.exp_();  // in place: p
        if (g_entropy.defined()) {
          dz = dz * (g_entropy * entropy_term - g_logp);
        } else {
          dz.mul_(-g_logp);
        }
        auto [column, inside] = targets_in_slice(t, v0, width);
        dz.scatter_add_(1, column, g_logp * inside.unsqueeze(-1).to(at::kFloat));
        if (temperature != 1.0) dz.div_(temperature);  // d(z / T) / dz
        if (autocast) {  // the products in autocast's dtype, summed over slices in float32
          at::Tensor dz_low = dz.to(matmul_dtype);
          grad_h.add_(at::matmul(dz_low, w_mm));                                // (c, H)
          grad_weight.narrow(0, v0, width).add_(at::matmul(dz_low.t(), h_mm));  // (w, H)
        } else {
          at::Tensor weight_rows = grad_weight.narrow(0, v0, width);  // contiguous rows of the gradient
          add_linear_grad_input(grad_h, dz, w.to(at::kFloat));           // (c, H)
          add_linear_grad_weight(weight_rows, dz, h32);                  // (w, H)
        }
      }
      grad_hidden.narrow(0, start, size).copy_(grad_h);
    }
    return {grad_hidden, grad_weight.to(weight.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                                 const at::Tensor& targets, int64_t chunk, double temperature,
                                                 bool with_entropy, int64_t max_logits) {
  TORCH_CHECK(temperature > 0, "temperature must be > 0, got ", temperature);
  variable_list out = TokenLogProbFunction::apply(hidden, weight, targets, std::max<int64_t>(1, chunk), temperature,
                                                  with_entropy, std::max<int64_t>(1, max_logits));
  return {out[0], out[1]};
}

}  // namespace rexrag
