// Implements qwen2.h: the forward pass of Qwen2ForCausalLM, following HF's modeling_qwen2 semantics.
#include "core/qwen2.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/errors.h"
#include "core/fast_linear.h"
#include "core/fused_attention.h"
#include "core/recompute.h"
#include "core/rms_norm.h"

namespace rexrag {

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);  // HF rotate_half
  return x * cos + rotated * sin;
}

void Qwen2Config::validate() const {
  auto positive = [](int64_t value, const char* name) {
    require(value > 0, std::string("config.") + name + " must be positive, got " + std::to_string(value));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  require(hidden_size % num_attention_heads == 0, "config.hidden_size must be divisible by num_attention_heads");
  require(num_attention_heads % num_key_value_heads == 0,
          "config.num_attention_heads must be divisible by num_key_value_heads");
  require(head_dim() % 2 == 0, "config head_dim (hidden_size / num_attention_heads) must be even for rotary");
  require(rope_theta > 0, "config.rope_theta must be positive");
  require(rms_norm_eps > 0, "config.rms_norm_eps must be positive");
}

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", at::zeros({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::zeros({out_features}));
}

at::Tensor ProjectionImpl::forward(const at::Tensor& x) { return fast_linear(x, weight, bias); }

EmbeddingImpl::EmbeddingImpl(int64_t count, int64_t dim) {
  weight = register_parameter("weight", at::zeros({count, dim}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) { return at::embedding(weight, ids); }

RMSNormImpl::RMSNormImpl(int64_t size, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({size}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  if (fused_rms_norm_applies(x, weight)) return fused_rms_norm(x, weight, eps);
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

Qwen2AttentionImpl::Qwen2AttentionImpl(const Qwen2Config& config)
    : num_heads(config.num_attention_heads),
      num_kv_heads(config.num_key_value_heads),
      head_dim(config.head_dim()) {
  q_proj = register_module("q_proj", Projection(config.hidden_size, num_heads * head_dim, true));
  k_proj = register_module("k_proj", Projection(config.hidden_size, num_kv_heads * head_dim, true));
  v_proj = register_module("v_proj", Projection(config.hidden_size, num_kv_heads * head_dim, true));
  o_proj = register_module("o_proj", Projection(num_heads * head_dim, config.hidden_size, false));
}

at::Tensor Qwen2AttentionImpl::forward(const at::Tensor& x, const LayerContext& context) {
  const int64_t batch = x.size(0), steps = x.size(1);
  const int64_t group = num_heads / num_kv_heads;
  if (context.fused) {
    const at::Tensor q = q_proj(x).view({batch, steps, num_heads, head_dim});
    const at::Tensor k = k_proj(x).view({batch, steps, num_kv_heads, head_dim});
    const at::Tensor v = v_proj(x).view({batch, steps, num_kv_heads, head_dim});
    return o_proj(fused_attention(q, k, v, context.cos, context.sin, context.allowed));
  }
  at::Tensor q = q_proj(x).view({batch, steps, num_heads, head_dim}).transpose(1, 2);     // (B, nH, T, D)
  at::Tensor k = k_proj(x).view({batch, steps, num_kv_heads, head_dim}).transpose(1, 2);  // (B, nKV, T, D)
  at::Tensor v = v_proj(x).view({batch, steps, num_kv_heads, head_dim}).transpose(1, 2);  // (B, nKV, T, D)
  q = apply_rotary(q, context.cos, context.sin);
  k = apply_rotary(k, context.cos, context.sin);
  const at::Tensor& bias = context.bias;
  // Grouped-query attention without repeating K/V: query head h reads kv head h / group, as HF's repeat_kv.
  at::Tensor q_grouped = q.reshape({batch, num_kv_heads, group * steps, head_dim});  // (B, nKV, g·T, D)
  const int64_t keys = k.size(2);
  at::Tensor scores;  // (B, nKV, g, T, S)
  if (bias.scalar_type() == q.scalar_type()) {
    // mask + q kᵀ / sqrt(D) as one BLAS call accumulating onto a copy of the mask: two fewer passes over the
    // (B, nH, T, S) scores, forward and backward, than a matmul, a division and an addition.
    scores = bias.expand({batch, num_kv_heads, group, steps, keys}).contiguous();
    scores.view({batch * num_kv_heads, group * steps, keys})
        .baddbmm_(q_grouped.reshape({batch * num_kv_heads, group * steps, head_dim}),
                  k.transpose(2, 3).reshape({batch * num_kv_heads, head_dim, keys}), /*beta=*/1,
                  /*alpha=*/1.0 / std::sqrt(double(head_dim)));
  } else {  // bfloat16 activations: the float32 mask is added in float32, as HF's promotion does
    scores = (at::matmul(q_grouped, k.transpose(2, 3)) / std::sqrt(double(head_dim)))
                 .view({batch, num_kv_heads, group, steps, keys}) +
             bias;
  }
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  at::Tensor out = at::matmul(probs.view({batch, num_kv_heads, group * steps, -1}), v);  // (B, nKV, g·T, D)
  out = out.view({batch, num_heads, steps, head_dim}).transpose(1, 2).reshape({batch, steps, -1});  // (B, T, H)
  return o_proj(out);
}

Qwen2MLPImpl::Qwen2MLPImpl(const Qwen2Config& config) {
  gate_proj = register_module("gate_proj", Projection(config.hidden_size, config.intermediate_size, false));
  up_proj = register_module("up_proj", Projection(config.hidden_size, config.intermediate_size, false));
  down_proj = register_module("down_proj", Projection(config.intermediate_size, config.hidden_size, false));
}

at::Tensor Qwen2MLPImpl::forward(const at::Tensor& x) { return down_proj(at::silu(gate_proj(x)) * up_proj(x)); }

Qwen2DecoderLayerImpl::Qwen2DecoderLayerImpl(const Qwen2Config& config) {
  self_attn = register_module("self_attn", Qwen2Attention(config));
  mlp = register_module("mlp", Qwen2MLP(config));
  input_layernorm = register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

at::Tensor Qwen2DecoderLayerImpl::forward(const at::Tensor& x, const LayerContext& context) {
  at::Tensor h = x + self_attn->forward(input_layernorm(x), context);
  return h + mlp(post_attention_layernorm(h));
}

Qwen2ModelImpl::Qwen2ModelImpl(const Qwen2Config& config) {
  embed_tokens = register_module("embed_tokens", Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(Qwen2DecoderLayer(config));
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

Qwen2ForCausalLMImpl::Qwen2ForCausalLMImpl(const Qwen2Config& config_) : config(config_) {
  config.validate();
  model = register_module("model", Qwen2Model(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module("lm_head", Projection(config.hidden_size, config.vocab_size, false));
  }
  const int64_t dim = config.head_dim();
  // inv_freq[i] = theta^(-2i/D), kept in float64 until the end for accuracy at long positions.
  // Not a registered buffer: it must stay float32 when the parameters move to bfloat16 (see to_device()).
  inv_freq = at::pow(config.rope_theta, -at::arange(0, dim, 2, at::kDouble) / double(dim)).to(at::kFloat);
}

void Qwen2ForCausalLMImpl::to_device(const at::Device& device, at::ScalarType dtype) {
  to(device, dtype);
  inv_freq = inv_freq.to(device, at::kFloat);
}

at::Tensor Qwen2ForCausalLMImpl::lm_head_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

at::Tensor Qwen2ForCausalLMImpl::logits(const at::Tensor& hidden) const {
  return fast_linear(hidden, lm_head_weight(), at::Tensor());
}

at::Tensor Qwen2ForCausalLMImpl::hidden_states(const at::Tensor& ids, const at::Tensor& positions,
                                               const at::Tensor& key_allowed, bool recompute) {
  const int64_t layer_count = static_cast<int64_t>(model->layers->size());
  at::Tensor x = model->embed_tokens(ids);                                               // (B, T, H)
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;                  // (B, T, D/2)
  at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);                          // (B, 1, T, D)
  LayerContext context;
  context.cos = angles.cos().to(x.scalar_type());
  context.sin = angles.sin().to(x.scalar_type());
  context.allowed = key_allowed.contiguous();
  context.fused = fused_attention_applies(x);
  if (!context.fused) {
    // Additive mask; a large finite negative (not -inf) keeps fully masked padding rows free of NaN.
    context.bias = at::zeros(key_allowed.sizes(), x.options().dtype(at::kFloat))
                       .masked_fill(key_allowed.logical_not(), -1e30)
                       .view({key_allowed.size(0), 1, 1, key_allowed.size(1), key_allowed.size(2)});  // (B,1,1,T,S)
  }
  for (int64_t l = 0; l < layer_count; ++l) {
    Qwen2DecoderLayerImpl& layer = *model->layers->ptr<Qwen2DecoderLayerImpl>(l);
    x = recompute ? recomputed_layer(layer, x, context) : layer.forward(x, context);
  }
  return model->norm(x);
}

}  // namespace rexrag
