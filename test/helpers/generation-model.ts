// The small random Qwen2 the generation tests share (grouped-query attention, untied head), and greedy sampling.
import type { NativeQwen2Config } from '../../lib/native-types.js';

export const generationConfig: NativeQwen2Config = {
  vocab_size: 96,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rope_theta: 10000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
};

export const greedy = { temperature: 0, topP: 1, topK: 0, seed: 0, stopStrings: [] as string[], eosTokenIds: [] as number[] };
