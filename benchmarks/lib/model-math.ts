// Work per token of a Qwen2 shape, for achieved/limit figures: the bytes of weights a decoding step reads, and
// the FLOPs of a training token. Counts follow the shapes in native/core/qwen2.cc.
import type { NativeQwen2Config } from '../../lib/native-types.js';

/** Parameters of one decoder layer: q/k/v (with biases) and o projections, the SwiGLU MLP, two norms. */
export function layerParameters(c: NativeQwen2Config): number {
  const kvDim = (c.hidden_size / c.num_attention_heads) * c.num_key_value_heads;
  const attention = c.hidden_size * c.hidden_size + c.hidden_size + 2 * (c.hidden_size * kvDim + kvDim) + c.hidden_size * c.hidden_size;
  return attention + 3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size;
}

/** All parameters (an untied LM head counted separately from the embedding). */
export function totalParameters(c: NativeQwen2Config): number {
  const embedding = c.vocab_size * c.hidden_size;
  return embedding + c.num_hidden_layers * layerParameters(c) + c.hidden_size + (c.tie_word_embeddings ? 0 : embedding);
}

/**
 * Bytes of float32 weights one decoding step reads: every layer and the LM head (V × H); the embedding
 * lookup reads only B rows, so an untied embedding is not counted. Per token at batch B: this / B.
 */
export function decodeWeightBytes(c: NativeQwen2Config): number {
  return 4 * (c.num_hidden_layers * layerParameters(c) + c.hidden_size + c.vocab_size * c.hidden_size);
}

/**
 * Training FLOPs per token at sequence length T (PaLM, Chowdhery et al. 2022, appendix B):
 * 6·N + 12·L·H·T, with N the parameters used in matrix products (layers and the LM head, not the lookup)
 * and the second term the attention score and value products, forward and backward.
 */
export function trainingFlopsPerToken(c: NativeQwen2Config, sequenceLength: number): number {
  const matmulParameters = c.num_hidden_layers * layerParameters(c) + c.vocab_size * c.hidden_size;
  return 6 * matmulParameters + 12 * c.num_hidden_layers * c.hidden_size * sequenceLength;
}
