// Implements packed_decoder.h. On float32 CPU weights a layer is a few fused loops (row_ops.h, rms_norm.h) around
// the projections; otherwise the model's own modules run, so every dtype and device works. The attention is
// paged_attention either way.
#include "core/packed_decoder.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "core/fast_linear.h"
#include "core/row_ops.h"

namespace rexrag {
namespace {

/// One decoder layer through the model's modules: x (N, H) -> (N, H).
at::Tensor module_layer(Qwen2DecoderLayerImpl& layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                        KVPages& cache, int64_t l, const PackedTokens& tokens) {
  Qwen2AttentionImpl& attention = *layer.self_attn;
  const int64_t N = x.size(0), heads = attention.num_heads, kv_heads = attention.num_kv_heads, D = attention.head_dim;
  const at::Tensor h = layer.input_layernorm(x);
  const at::Tensor q = apply_rotary(attention.q_proj(h).view({N, heads, D}), cos, sin);
  const at::Tensor k = apply_rotary(attention.k_proj(h).view({N, kv_heads, D}), cos, sin);
  const at::Tensor v = attention.v_proj(h).view({N, kv_heads, D});
  const at::Tensor mixed = x + attention.o_proj(paged_attention(q, k, v, cache, l, tokens));
  return mixed + layer.mlp(layer.post_attention_layernorm(mixed));
}

/// The same layer on float32 CPU tensors with fused loops; x is updated in place.
void fused_layer(Qwen2DecoderLayerImpl& layer, at::Tensor& x, const at::Tensor& inv_freq, KVPages& cache, int64_t l,
                 const PackedTokens& tokens) {
  Qwen2AttentionImpl& attention = *layer.self_attn;
  Qwen2MLPImpl& mlp = *layer.mlp;
  const int64_t N = x.size(0), heads = attention.num_heads, kv_heads = attention.num_kv_heads, D = attention.head_dim;
  at::Tensor h = layer.input_layernorm(x);  // fused (rms_norm.h) on float32 CPU tensors
  at::Tensor q = fast_linear(h, attention.q_proj->weight, attention.q_proj->bias).view({N, heads, D});
  at::Tensor k = fast_linear(h, attention.k_proj->weight, attention.k_proj->bias).view({N, kv_heads, D});
  const at::Tensor v = fast_linear(h, attention.v_proj->weight, attention.v_proj->bias).view({N, kv_heads, D});
  rotate_in_place(q, tokens.positions, inv_freq);
  rotate_in_place(k, tokens.positions, inv_freq);
  x.add_(fast_linear(paged_attention(q, k, v, cache, l, tokens), attention.o_proj->weight, at::Tensor()));
  h = layer.post_attention_layernorm(x);
  at::Tensor gate = fast_linear(h, mlp.gate_proj->weight, at::Tensor());
  silu_mul_in_place(gate, fast_linear(h, mlp.up_proj->weight, at::Tensor()));
  x.add_(fast_linear(gate, mlp.down_proj->weight, at::Tensor()));
}

}  // namespace

at::Tensor packed_forward(Qwen2ForCausalLMImpl& model, const PackedTokens& tokens, const std::vector<int64_t>& outputs,
                          KVPages& cache) {
  torch::NoGradGuard no_grad;
  const at::Device device = model.lm_head_weight().device();
  const at::Tensor ids = at::tensor(tokens.ids, at::kLong).to(device);
  at::Tensor x = model.model->embed_tokens(ids);  // (N, H)
  const int64_t layer_count = static_cast<int64_t>(model.model->layers->size());
  if (row_ops_apply({x, model.lm_head_weight()})) {
    for (int64_t l = 0; l < layer_count; ++l) {
      fused_layer(*model.model->layers->ptr<Qwen2DecoderLayerImpl>(l), x, model.inv_freq, cache, l, tokens);
    }
  } else {
    const at::Tensor freqs =
        at::tensor(tokens.positions, at::kLong).to(device).to(at::kFloat).unsqueeze(-1) * model.inv_freq;  // (N, D/2)
    const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);                                      // (N, 1, D)
    const at::Tensor cos = angles.cos().to(x.scalar_type()), sin = angles.sin().to(x.scalar_type());
    for (int64_t l = 0; l < layer_count; ++l) {
      x = module_layer(*model.model->layers->ptr<Qwen2DecoderLayerImpl>(l), x, cos, sin, cache, l, tokens);
    }
  }
  return model.model->norm(x.index_select(0, at::tensor(outputs, at::kLong).to(device)));
}

}  // namespace rexrag
