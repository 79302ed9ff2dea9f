// Qwen2 hyper-parameters, named as in Hugging Face's config.json. Torch-free: the N-API layer fills it.
#pragma once

#include <cstdint>

namespace rexrag {

struct Qwen2Config {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t max_position_embeddings = 32768;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// Throws InvalidArgument naming the first inconsistent field.
  void validate() const;
};

}  // namespace rexrag
