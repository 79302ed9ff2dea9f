// Token sampling from a batch of logits: temperature, top-k, top-p, greedy, and a vocabulary limit, with the
// log-prob of each pick under the distribution it was drawn from. Device-agnostic: the random numbers come
// from a CPU generator (so a seed means the same thing on every device) and the pick is an inverse-CDF search.
#pragma once

#include <ATen/ATen.h>

namespace rexrag {

struct SamplingChoice {
  at::Tensor tokens;          // (B,) int64
  at::Tensor logprobs;        // (B,) float32, under the sampling distribution (0 for greedy)
  at::Tensor model_logprobs;  // (B,) float32, under log_softmax(logits)
};

SamplingChoice sample_tokens(const at::Tensor& logits, double temperature, double top_p, int64_t top_k,
                             int64_t vocab_limit, at::Generator& generator);

}  // namespace rexrag
