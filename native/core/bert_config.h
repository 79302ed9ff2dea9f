// BERT hyper-parameters, named as in Hugging Face's config.json (BertConfig). Torch-free: the N-API layer fills
// it; validate() is in bert.cc.
#pragma once

#include <cstdint>
#include <string>

namespace rexrag {

struct BertConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";                    // only the exact (erf) GELU is supported
  std::string position_embedding_type = "absolute";  // only learned absolute positions are supported

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// Throws InvalidArgument naming the first inconsistent or unsupported field.
  void validate() const;
};

}  // namespace rexrag
