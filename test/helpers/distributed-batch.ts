// A fixed GRPO batch and tiny policy shared by the data-parallel trainer test and its child ranks.
import type { NativeQwen2Config } from '../../lib/native-types.js';
import type { TrajectoryBatch } from '../../lib/train/grpo-trainer.js';
import { mulberry32 } from '../../lib/util/random.js';

export const tinyConfig: NativeQwen2Config = {
  vocab_size: 64, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  tie_word_embeddings: false,
};

/**
 * AdamW's eps is 1e-3 here, not 1e-8: with 1e-8 the first updates are lr·g/|g|, so a gradient that is ~0 up to
 * float32 rounding moves by up to lr whichever way the rounding went, and any change of summation order (even one
 * process changing only microBatchTokens: 5.5e-5 relative) moves parameters by far more than the tolerance.
 */
export const trainerOptions = { optimizer: { lr: 1e-2, maxGradNorm: 0.5, eps: 1e-3 }, loss: { klCoef: 0.05, klType: 'k3' as const } };

/** Two mini-batches of 4 rows, shuffled, micro-batches of a few rows: the partition must be the global one. */
export const STEP_OPTIONS = { miniBatchSize: 4, shuffle: true, microBatchTokens: 24 };

/** 7 rows of different lengths, with behaviour log-probs, advantages and token kinds. */
export function fixedBatch(): TrajectoryBatch {
  const random = mulberry32(11);
  const lengths = [5, 9, 6, 8, 7, 5, 10];
  const ids = lengths.map((n) => Array.from({ length: n }, () => Math.floor(random() * 64)));
  return {
    ids,
    lossMask: ids.map((row) => row.map((_, t) => (t >= 2 ? 1 : 0))),
    behaviourLogps: ids.map((row) => row.map(() => -4 - random())),
    advantages: ids.map(() => random() * 2 - 1),
    tokenKinds: ids.map((row, k) => row.map((_, t) => (k % 3 === 2 && t >= 2 ? 3 : 0))),
  };
}
