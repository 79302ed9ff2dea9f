// The trainer's options as plain structs, filled once by the N-API layer from a config that zod has already
// parsed and checked (lib/config/train-config.ts owns every name, default and range), so nothing here has a
// default. Torch-free.
#pragma once

#include <cstdint>

namespace rexrag {

enum class KlType { None, K1, K2, K3 };  // K3 is verl's "low_var_kl"
enum class Aggregation { TokenMean, SeqMeanTokenSum, SeqMeanTokenMean };
enum class Schedule { Constant, Cosine };
enum class Autocast { Off, BFloat16 };

/// The policy loss (policy_loss.h): PPO clip, dual clip, KL to the reference, entropy bonus, aggregation.
struct LossConfig {
  double clip_low, clip_high;
  double dual_clip;  // > 1 enables dual clip with this c; 0 disables it
  KlType kl_type;
  double kl_coef;
  double entropy_coef;
  Aggregation aggregation;
  double temperature;  // log-probs (policy and reference) come from softmax(logits / temperature)
};

/// AdamW and the learning-rate schedule (optimizer.h).
struct OptimizerOptions {
  double lr, beta1, beta2, eps, weight_decay;
  double max_grad_norm;  // <= 0: no clipping
  Schedule schedule;     // constant (after a linear warmup) or cosine
  int64_t warmup_steps;
  int64_t total_steps;   // cosine only
  double min_lr_ratio;   // cosine floor as a fraction of lr
};

/// How one training step walks its batch.
struct StepOptions {
  int64_t mini_batch_size;     // rows per optimizer update (the last one of an epoch may be short); 0: all rows
  int64_t epochs;
  int64_t micro_batch_tokens;  // padded tokens per forward/backward pass
  int64_t logit_chunk;         // rows per LM-head pass (the vocabulary is sliced: <= 16M logits at once)
  bool shuffle;
  uint64_t seed;
  bool recompute;              // each decoder layer keeps only its input and is recomputed in the backward pass
  Autocast autocast;           // dtype of the training pass's matmuls (autocast); weights and AdamW stay float32
};

}  // namespace rexrag
