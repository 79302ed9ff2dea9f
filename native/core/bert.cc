// Implements bert.h: the forward pass of HF's BertModel (modeling_bert), eval mode (no dropout).
#include "core/bert.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/errors.h"

namespace rexrag {

void BertConfig::validate() const {
  auto positive = [](int64_t value, const char* name) {
    require(value > 0, std::string("config.") + name + " must be positive, got " + std::to_string(value));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(intermediate_size, "intermediate_size");
  positive(max_position_embeddings, "max_position_embeddings");
  positive(type_vocab_size, "type_vocab_size");
  require(hidden_size % num_attention_heads == 0, "config.hidden_size must be divisible by num_attention_heads");
  require(layer_norm_eps > 0, "config.layer_norm_eps must be positive");
  require(hidden_act == "gelu", "config.hidden_act \"" + hidden_act + "\" is not supported (only \"gelu\")");
  require(position_embedding_type == "absolute",
          "config.position_embedding_type \"" + position_embedding_type + "\" is not supported (only \"absolute\")");
}

LayerNormImpl::LayerNormImpl(int64_t size_, double eps_) : size(size_), eps(eps_) {
  weight = register_parameter("weight", at::ones({size}));
  bias = register_parameter("bias", at::zeros({size}));
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) { return at::layer_norm(x, {size}, weight, bias, eps); }

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config) {
  word_embeddings = register_module("word_embeddings", Embedding(config.vocab_size, config.hidden_size));
  position_embeddings =
      register_module("position_embeddings", Embedding(config.max_position_embeddings, config.hidden_size));
  token_type_embeddings =
      register_module("token_type_embeddings", Embedding(config.type_vocab_size, config.hidden_size));
  layer_norm = register_module("LayerNorm", LayerNorm(config.hidden_size, config.layer_norm_eps));
}

at::Tensor BertEmbeddingsImpl::forward(const at::Tensor& ids, const at::Tensor& token_type_ids) {
  const int64_t steps = ids.size(1);
  at::Tensor positions = at::arange(steps, ids.options().dtype(at::kLong)).unsqueeze(0);  // (1, T)
  at::Tensor x = word_embeddings(ids) + position_embeddings(positions) + token_type_embeddings(token_type_ids);
  return layer_norm(x);  // (B, T, H)
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& config)
    : num_heads(config.num_attention_heads), head_dim(config.head_dim()) {
  query = register_module("query", Projection(config.hidden_size, config.hidden_size, true));
  key = register_module("key", Projection(config.hidden_size, config.hidden_size, true));
  value = register_module("value", Projection(config.hidden_size, config.hidden_size, true));
}

at::Tensor BertSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  const int64_t batch = x.size(0), steps = x.size(1);
  at::Tensor q = query(x).view({batch, steps, num_heads, head_dim}).transpose(1, 2);  // (B, nH, T, D)
  at::Tensor k = key(x).view({batch, steps, num_heads, head_dim}).transpose(1, 2);    // (B, nH, T, D)
  at::Tensor v = value(x).view({batch, steps, num_heads, head_dim}).transpose(1, 2);  // (B, nH, T, D)
  // softmax(q kᵀ / sqrt(D) + mask) v, the softmax in float32.
  at::Tensor scores = at::matmul(q, k.transpose(2, 3)) / std::sqrt(double(head_dim)) + bias;  // (B, nH, T, T)
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  at::Tensor context = at::matmul(probs, v);                                // (B, nH, T, D)
  return context.transpose(1, 2).reshape({batch, steps, num_heads * head_dim});  // (B, T, H)
}

BertDenseResidualNormImpl::BertDenseResidualNormImpl(int64_t in_features, const BertConfig& config) {
  dense = register_module("dense", Projection(in_features, config.hidden_size, true));
  layer_norm = register_module("LayerNorm", LayerNorm(config.hidden_size, config.layer_norm_eps));
}

at::Tensor BertDenseResidualNormImpl::forward(const at::Tensor& h, const at::Tensor& residual) {
  return layer_norm(dense(h) + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& config) {
  self = register_module("self", BertSelfAttention(config));
  output = register_module("output", BertDenseResidualNorm(config.hidden_size, config));
}

at::Tensor BertAttentionImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  return output(self(x, bias), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& config) {
  dense = register_module("dense", Projection(config.hidden_size, config.intermediate_size, true));
}

at::Tensor BertIntermediateImpl::forward(const at::Tensor& x) {
  return at::gelu(dense(x), "none");  // exact: x · Φ(x) = x/2 · (1 + erf(x/√2)), HF's "gelu"
}

BertLayerImpl::BertLayerImpl(const BertConfig& config) {
  attention = register_module("attention", BertAttention(config));
  intermediate = register_module("intermediate", BertIntermediate(config));
  output = register_module("output", BertDenseResidualNorm(config.intermediate_size, config));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  at::Tensor h = attention(x, bias);  // (B, T, H)
  return output(intermediate(h), h);  // (B, T, H)
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& config) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layer->push_back(BertLayer(config));
}

at::Tensor BertEncoderImpl::forward(at::Tensor x, const at::Tensor& bias) {
  for (size_t l = 0; l < layer->size(); ++l) x = layer->ptr<BertLayerImpl>(l)->forward(x, bias);
  return x;
}

BertModelImpl::BertModelImpl(const BertConfig& config_) : config(config_) {
  config.validate();
  embeddings = register_module("embeddings", BertEmbeddings(config));
  encoder = register_module("encoder", BertEncoder(config));
}

at::Tensor BertModelImpl::forward(const at::Tensor& ids, const at::Tensor& token_type_ids, const at::Tensor& valid) {
  at::Tensor x = embeddings(ids, token_type_ids);  // (B, T, H)
  // Additive key mask as HF's extended attention mask; a large finite negative keeps rows free of NaN.
  at::Tensor bias = at::zeros(valid.sizes(), x.options().dtype(at::kFloat))
                        .masked_fill(valid.logical_not(), -1e30)
                        .view({valid.size(0), 1, 1, valid.size(1)});  // (B, 1, 1, T)
  return encoder(x, bias);                                              // (B, T, H)
}

}  // namespace rexrag
