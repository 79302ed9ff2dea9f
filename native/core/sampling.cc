// Implements sampling.h. Without top-k or top-p a row's pick needs only its maximum, its sum of exponentials and
// one scan for the inverse CDF: on float32 CPU logits that is a single native loop per row instead of a dozen
// full-vocabulary tensor passes; with those filters the tensor path below runs.
#include "core/sampling.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/gemm.h"

namespace rexrag {
namespace {

bool scan_applies(const at::Tensor& logits, double top_p, int64_t top_k) {
  return !aten_kernels_requested() && logits.device().is_cpu() && logits.scalar_type() == at::kFloat &&
         logits.dim() == 2 && top_p >= 1.0 && (top_k <= 0 || top_k >= logits.size(1));
}

/// Σ exp(scale · l − top) over l[0, n), with top = max(scale · l) (scale > 0): a softmax's normaliser.
struct Normaliser {
  float top;
  double sum;
  double log_total() const { return top + std::log(sum); }
};

Normaliser normaliser(const float* l, int64_t n, double scale) {
  const auto top = static_cast<float>(scale * *std::max_element(l, l + n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<float>(scale * l[i]) - top);
  return {top, sum};
}

SamplingChoice sample_by_scan(const at::Tensor& logits_in, double temperature, int64_t vocab_limit,
                              at::Generator& generator) {
  const at::Tensor logits = logits_in.contiguous();
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  const int64_t limit = vocab_limit > 0 ? std::min(vocab_limit, vocab) : vocab;
  // The same draws as the tensor path: u in (0, 1], one per row.
  const at::Tensor u = temperature > 0 ? 1.0 - at::rand({rows}, generator, at::TensorOptions().dtype(at::kFloat))
                                       : at::Tensor();
  SamplingChoice choice;
  choice.tokens = at::empty({rows}, at::kLong);
  choice.logprobs = at::zeros({rows}, at::kFloat);
  choice.model_logprobs = at::empty({rows}, at::kFloat);
  const float* data = logits.data_ptr<float>();
  int64_t* tokens = choice.tokens.data_ptr<int64_t>();
  float* logprobs = choice.logprobs.data_ptr<float>();
  float* model_logprobs = choice.model_logprobs.data_ptr<float>();
  const float* draws = temperature > 0 ? u.data_ptr<float>() : nullptr;
  at::parallel_for(0, rows, std::max<int64_t>(1, (int64_t{1} << 16) / vocab), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* l = data + r * vocab;
      int64_t token = 0;
      const Normaliser model = normaliser(l, vocab, 1.0);
      if (temperature <= 0) {
        token = std::max_element(l, l + limit) - l;  // the first of equal maxima, as argmax
      } else {
        const double scale = 1.0 / temperature;
        const Normaliser sampling = scale == 1.0 && limit == vocab ? model : normaliser(l, limit, scale);
        // The first token whose cumulative mass reaches u times the total: never a zero-mass token.
        const double target = draws[r] * sampling.sum;
        double cumulative = 0;
        for (token = 0; token < limit - 1; ++token) {
          cumulative += std::exp(static_cast<float>(scale * l[token]) - sampling.top);
          if (cumulative >= target) break;
        }
        logprobs[r] = static_cast<float>(scale * l[token] - sampling.log_total());
      }
      tokens[r] = token;
      model_logprobs[r] = static_cast<float>(l[token] - model.log_total());
    }
  });
  return choice;
}

}  // namespace

SamplingChoice sample_tokens(const at::Tensor& logits_in, double temperature, double top_p, int64_t top_k,
                             int64_t vocab_limit, at::Generator& generator) {
  if (scan_applies(logits_in, top_p, top_k)) return sample_by_scan(logits_in, temperature, vocab_limit, generator);
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
