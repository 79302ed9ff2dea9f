// The Qwen2 decoder (Qwen2ForCausalLM) on libtorch: token embedding, RMSNorm, rotary embeddings, grouped-query
// attention with q/k/v biases, SwiGLU MLP, optional tied LM head. Module and parameter names match Hugging
// Face's, so named_parameters() keys equal a checkpoint's keys. Batching and padding live in the callers
// (policy.cc, trainer.cc): the forward pass takes explicit positions and a key mask. Generation runs the same
// weights through packed_decoder.h, with its paged KV cache.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/qwen2_config.h"

namespace rexrag {

/// HF's rotary embedding: x·cos + rotate_half(x)·sin, where rotate_half maps the halves (x1, x2) of the last
/// dimension to (-x2, x1); cos and sin broadcast against x.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// y = x Wᵀ + b, with HF's parameter names `weight` (out, in) and `bias` (out).
struct ProjectionImpl : torch::nn::Module {
  ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
};
TORCH_MODULE(Projection);

struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(int64_t count, int64_t dim);
  at::Tensor forward(const at::Tensor& ids);
  at::Tensor weight;
};
TORCH_MODULE(Embedding);

/// y = x / sqrt(mean(x²) + eps) · weight, computed in float32 as HF does.
struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t size, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

/// What every decoder layer of one forward pass over whole sequences shares: the rotary tables and the mask.
struct LayerContext {
  at::Tensor cos, sin;  // (B, 1, T, D) in the activations' dtype (float32 for the fused attention)
  at::Tensor allowed;   // (B, T, T) bool: query t may attend key s
  at::Tensor bias;      // (B, 1, 1, T, T) float32 additive mask, for ATen's attention; undefined when fused
  bool fused = false;   // attention by fused_attention.h
};

struct Qwen2AttentionImpl : torch::nn::Module {
  explicit Qwen2AttentionImpl(const Qwen2Config& config);
  /// x (B, T, H) -> (B, T, H).
  at::Tensor forward(const at::Tensor& x, const LayerContext& context);
  Projection q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t num_heads, num_kv_heads, head_dim;
};
TORCH_MODULE(Qwen2Attention);

/// SwiGLU: down(silu(gate(x)) · up(x)).
struct Qwen2MLPImpl : torch::nn::Module {
  explicit Qwen2MLPImpl(const Qwen2Config& config);
  at::Tensor forward(const at::Tensor& x);
  Projection gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen2MLP);

struct Qwen2DecoderLayerImpl : torch::nn::Module {
  explicit Qwen2DecoderLayerImpl(const Qwen2Config& config);
  at::Tensor forward(const at::Tensor& x, const LayerContext& context);
  Qwen2Attention self_attn{nullptr};
  Qwen2MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen2DecoderLayer);

/// HF's `model.` sub-module: embeddings, decoder layers, final norm.
struct Qwen2ModelImpl : torch::nn::Module {
  explicit Qwen2ModelImpl(const Qwen2Config& config);
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Qwen2Model);

struct Qwen2ForCausalLMImpl : torch::nn::Module {
  explicit Qwen2ForCausalLMImpl(const Qwen2Config& config);

  /// Final-norm hidden states (B, T, H) for ids (B, T) at positions (B, T). `key_allowed` (B, T, T) is true
  /// where a query may attend to a key. With `recompute` (training), each decoder layer keeps only its
  /// input for the backward pass and is run again there (recompute.h).
  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& key_allowed,
                           bool recompute);
  /// Moves parameters to `device` as `dtype`; the rotary frequencies stay float32.
  void to_device(const at::Device& device, at::ScalarType dtype);
  /// The LM head matrix (V, H): lm_head.weight, or the input embedding when tied.
  at::Tensor lm_head_weight() const;
  /// Logits (..., V) of hidden states (..., H).
  at::Tensor logits(const at::Tensor& hidden) const;

  Qwen2Config config;
  Qwen2Model model{nullptr};
  Projection lm_head{nullptr};  // null when tie_word_embeddings
  at::Tensor inv_freq;          // (D/2,) rotary frequencies, float32
};
TORCH_MODULE(Qwen2ForCausalLM);

}  // namespace rexrag
