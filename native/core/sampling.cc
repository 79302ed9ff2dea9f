// Implements sampling.h.
#include "core/sampling.h"

#include <limits>

namespace rexrag {

SamplingChoice sample_tokens(const at::Tensor& logits_in, double temperature, double top_p, int64_t top_k,
                             int64_t vocab_limit, at::Generator& generator) {
  at::Tensor logits = logits_in.to(at::kFloat);  // (B, V)
  const int64_t vocab = logits.size(1);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  SamplingChoice choice;
  at::Tensor model_logp = at::log_softmax(logits, -1);  // (B, V)
  at::Tensor filtered = logits;
  if (vocab_limit > 0 && vocab_limit < vocab) {
    filtered = filtered.clone();
    filtered.narrow(1, vocab_limit, vocab - vocab_limit).fill_(neg_inf);
  }
  if (temperature <= 0) {
    choice.tokens = filtered.argmax(-1);                                   // (B,)
    choice.logprobs = at::zeros({logits.size(0)}, logits.options());       // a point mass
  } else {
    // Only the passes the options need: at T = 1 with no filter the sampling distribution is the model's.
    const bool filters = (top_k > 0 && top_k < vocab) || top_p < 1.0 || (vocab_limit > 0 && vocab_limit < vocab);
    at::Tensor scaled = temperature == 1.0 ? filtered : filtered / temperature;
    if (top_k > 0 && top_k < vocab) {
      at::Tensor kth = std::get<0>(scaled.topk(top_k, -1)).narrow(1, top_k - 1, 1);  // (B, 1)
      scaled = scaled.masked_fill(scaled < kth, neg_inf);
    }
    if (top_p < 1.0) {
      auto [sorted, order] = scaled.sort(-1, /*descending=*/true);  // (B, V)
      at::Tensor probs = at::softmax(sorted, -1);
      // Drop a token when the mass before it already reaches top_p; the most likely token always stays.
      at::Tensor drop = (probs.cumsum(-1) - probs) >= top_p;
      scaled = scaled.scatter(-1, order, sorted.masked_fill(drop, neg_inf));
    }
    at::Tensor logp = (temperature == 1.0 && !filters) ? model_logp : at::log_softmax(scaled, -1);  // (B, V)
    at::Tensor cdf = logp.exp().cumsum(-1);         // (B, V)
    // u in (0, 1], so the pick is the first token whose cumulative mass reaches u: never a zero-mass token.
    at::Tensor u = (1.0 - at::rand({logits.size(0), 1}, generator, at::TensorOptions().dtype(at::kFloat)))
                       .to(logits.device());
    at::Tensor below = cdf < u * cdf.narrow(1, vocab - 1, 1);
    choice.tokens = below.sum(-1).clamp_max(vocab - 1);  // (B,)
    choice.logprobs = logp.gather(-1, choice.tokens.unsqueeze(-1)).squeeze(-1);
  }
  choice.model_logprobs = model_logp.gather(-1, choice.tokens.unsqueeze(-1)).squeeze(-1);
  return choice;
}

}  // namespace rexrag
