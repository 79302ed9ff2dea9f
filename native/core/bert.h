// The BERT encoder (HF BertModel, as in intfloat/e5-base-v2) on libtorch: word + position + token-type
// embeddings, embedding LayerNorm, post-LN transformer layers with exact GELU, a padding mask. Module and
// parameter names match Hugging Face's, so named_parameters() keys equal a checkpoint's keys. Pooling, batching
// and checkpoint loading live in encoder.cc.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "core/bert_config.h"
#include "core/qwen2.h"  // Projection (y = x Wᵀ + b) and Embedding, shared with the decoder

namespace rexrag {

/// y = (x - mean(x)) / sqrt(var(x) + eps) · weight + bias over the last dimension (biased variance, as torch).
struct LayerNormImpl : torch::nn::Module {
  LayerNormImpl(int64_t size, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
  int64_t size;
  double eps;
};
TORCH_MODULE(LayerNorm);

/// HF BertEmbeddings: LayerNorm(word[ids] + position[pos] + token_type[types]).
struct BertEmbeddingsImpl : torch::nn::Module {
  explicit BertEmbeddingsImpl(const BertConfig& config);
  /// ids, token_type_ids (B, T); positions are 0..T-1 (rows are right-padded). Returns (B, T, H).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& token_type_ids);
  Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  LayerNorm layer_norm{nullptr};  // registered as HF's `LayerNorm`
};
TORCH_MODULE(BertEmbeddings);

/// HF BertSelfAttention: multi-head scaled dot-product attention with q/k/v biases.
struct BertSelfAttentionImpl : torch::nn::Module {
  explicit BertSelfAttentionImpl(const BertConfig& config);
  /// x (B, T, H); bias (B, 1, 1, T) additive key mask. Returns the attention context (B, T, H).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);
  Projection query{nullptr}, key{nullptr}, value{nullptr};
  int64_t num_heads, head_dim;
};
TORCH_MODULE(BertSelfAttention);

/// HF BertSelfOutput and BertOutput (same shape of computation): LayerNorm(dense(h) + residual), post-LN.
struct BertDenseResidualNormImpl : torch::nn::Module {
  BertDenseResidualNormImpl(int64_t in_features, const BertConfig& config);
  at::Tensor forward(const at::Tensor& h, const at::Tensor& residual);
  Projection dense{nullptr};
  LayerNorm layer_norm{nullptr};  // registered as HF's `LayerNorm`
};
TORCH_MODULE(BertDenseResidualNorm);

/// HF BertAttention: `self` then `output`.
struct BertAttentionImpl : torch::nn::Module {
  explicit BertAttentionImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);
  BertSelfAttention self{nullptr};
  BertDenseResidualNorm output{nullptr};
};
TORCH_MODULE(BertAttention);

/// HF BertIntermediate: gelu(dense(x)) with the exact erf GELU, x·Φ(x).
struct BertIntermediateImpl : torch::nn::Module {
  explicit BertIntermediateImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& x);
  Projection dense{nullptr};
};
TORCH_MODULE(BertIntermediate);

/// HF BertLayer: attention, then the feed-forward block with its own residual and LayerNorm.
struct BertLayerImpl : torch::nn::Module {
  explicit BertLayerImpl(const BertConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);
  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertDenseResidualNorm output{nullptr};
};
TORCH_MODULE(BertLayer);

/// HF BertEncoder: the stack of layers, registered as `layer.0`, `layer.1`, ...
struct BertEncoderImpl : torch::nn::Module {
  explicit BertEncoderImpl(const BertConfig& config);
  at::Tensor forward(at::Tensor x, const at::Tensor& bias);
  torch::nn::ModuleList layer;
};
TORCH_MODULE(BertEncoder);

/// HF BertModel without the pooler (E5 pools by averaging; the pooler is the NSP head's [CLS] projection).
struct BertModelImpl : torch::nn::Module {
  explicit BertModelImpl(const BertConfig& config);
  /// Last hidden states (B, T, H) of right-padded ids (B, T); `valid` (B, T) is true on real tokens and masks
  /// the padding keys. token_type_ids (B, T) as ids.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& token_type_ids, const at::Tensor& valid);

  BertConfig config;
  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
};
TORCH_MODULE(BertModel);

}  // namespace rexrag
