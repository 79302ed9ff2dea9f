// What the benchmark suite measures and at which sizes: the model shapes, and the per-workload sizes of a
// full run and of a --quick run. Every number here is written into the results JSON as the run's config.
import { DEFAULT_HASHED_SPEC, type HashedEmbedderSpec } from '../../lib/retrieval/embedder.js';
import { DEFAULT_HNSW_PARAMS, type HnswParams } from '../../lib/retrieval/dense-index.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';

export interface ModelShape {
  /** Short id used in figure names. */
  id: string;
  description: string;
  config: NativeQwen2Config;
  /** Seed of the random weights (normal(0, 0.02), norms 1): rexrag and the reference hold the same values. */
  seed: number;
  /** Timed cases of a cheap shape run this many times more per process, so very short measurements settle. */
  repeatScale: number;
}

/** A small Qwen2: 4 layers, hidden 256; small vocabulary, so per-layer overheads show. */
export const SMALL_SHAPE: ModelShape = {
  id: 'small',
  description: 'Qwen2, 4 layers, hidden 256, 4 heads (2 KV), intermediate 1024, vocab 8192, tied',
  config: {
    vocab_size: 8192,
    hidden_size: 256,
    intermediate_size: 1024,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rope_theta: 1_000_000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  seed: 11,
  repeatScale: 3,
};

/** Qwen2.5-0.5B's shape (its config.json) with random weights. */
export const QWEN25_05B_SHAPE: ModelShape = {
  id: 'qwen2.5-0.5b',
  description: 'Qwen2.5-0.5B shape: 24 layers, hidden 896, 14 heads (2 KV), intermediate 4864, vocab 151936, tied',
  config: {
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    rope_theta: 1_000_000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  seed: 5,
  repeatScale: 1,
};

/** The embedded lab's model (`npm start`): 2 layers, hidden 128, the syllable vocabulary of 400 ids. */
export const LAB_SHAPE: ModelShape = {
  id: 'lab',
  description: "the lab's model (npm start): Qwen2, 2 layers, hidden 128, 4 heads, intermediate 512, vocab 400, tied",
  config: {
    vocab_size: 400,
    hidden_size: 128,
    intermediate_size: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    rope_theta: 1_000_000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
  },
  seed: 13,
  repeatScale: 1,
};

/** --quick: Qwen2.5-0.5B's width and vocabulary with 2 of its 24 layers. */
export const QWEN25_05B_QUICK_SHAPE: ModelShape = {
  ...QWEN25_05B_SHAPE,
  id: 'qwen2.5-0.5b-2L',
  description: 'Qwen2.5-0.5B width and vocabulary with 2 layers (--quick)',
  config: { ...QWEN25_05B_SHAPE.config, num_hidden_layers: 2 },
};

export interface Sizes {
  mode: 'full' | 'quick';
  threads: number;
  shapes: ModelShape[];
  limits: { matmulSize: number; matmulReps: number; bandwidthMegabytes: number; bandwidthReps: number };
  parity: {
    sequences: number;
    sequenceTokens: number;
    generationRows: number;
    generationPromptTokens: number;
    generationTokens: number;
    /** Largest |Δ log p| (nats) allowed between rexrag and the reference. */
    tolerance: number;
  };
  generation: {
    promptTokens: number;
    newTokens: number;
    batches: number[];
    multiTurn: { batch: number; turns: number; observationTokens: number; newTokens: number };
    temperature: number;
    /** rexrag and the reference run alternately this many times each, in fresh processes; best tokens/s wins. */
    rounds: number;
    /** Each case runs this many times per process; the best tokens/s is reported. */
    repeats: number;
  };
  logprobs: {
    rows: number;
    tokens: number;
    /** rexrag's `chunkSize` scoring option, each measured; null: the library's default. */
    chunkSizes: Array<number | null>;
    rounds: number;
    repeats: number;
    tolerance: number;
  };
  grpo: {
    rows: number;
    tokens: number;
    promptTokens: number;
    /** rexrag and the reference alternate this many times; only the first round checks the update. */
    rounds: number;
    timedUpdates: number;
    loss: { clipLow: number; clipHigh: number; klType: 'k3'; klCoef: number; entropyCoef: number; aggregation: 'token-mean' };
    optimizer: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number };
    logitChunk: number;
    tolerance: { lossAbs: number; gradNormRel: number; updateCosine: number };
    /** The same check between the two sides' bfloat16 autocast updates, which round differently. */
    autocastTolerance: { lossAbs: number; gradNormRel: number; float32CosineMargin: number };
  };
  /** One whole RL step at the lab's shape: multi-turn rollouts, scoring, one update. */
  labStep: {
    rows: number;
    promptTokens: number;
    turns: number;
    newTokens: number;
    observationTokens: number;
    temperature: number;
    rounds: number;
    steps: number;
  };
  retrieval: {
    passages: number;
    queries: number;
    k: number;
    embedder: HashedEmbedderSpec;
    hnsw: HnswParams;
    /** Further efSearch values measured on the same graph (the recall / speed trade-off). */
    efSearchSweep: number[];
  };
}

/**
 * rexrag's and PyTorch's bfloat16 autocast updates round at different places (rexrag's LM head works in vocabulary
 * slices and sums their products in float32, PyTorch's on the full logits), so their first updates agree only to
 * bfloat16 precision, 2^-9 ≈ 2e-3 relative per rounding. Adam's first step is about lr·sign(g), so gradients that
 * are zero up to rounding flip sign and lower the cosine of two bfloat16 updates (0.98 on the small shape, 0.95 on
 * 0.5B's, measured 2026-12-02) however right each is. The update check is therefore against PyTorch's float32
 * update from the same start: rexrag's bfloat16 update's cosine with it may fall short of PyTorch's own bfloat16
 * update's by at most float32CosineMargin. Loss and gradient norm are still compared with PyTorch's bfloat16 step.
 */
const AUTOCAST_TOLERANCE = { lossAbs: 1e-3, gradNormRel: 1e-2, float32CosineMargin: 0.01 };

/** The sizes of a run. `quick` shrinks every workload so the whole suite runs in a few minutes. */
export function benchmarkSizes(quick: boolean, threads: number): Sizes {
  return {
    mode: quick ? 'quick' : 'full',
    threads,
    shapes: [SMALL_SHAPE, quick ? QWEN25_05B_QUICK_SHAPE : QWEN25_05B_SHAPE],
    limits: quick
      ? { matmulSize: 2048, matmulReps: 5, bandwidthMegabytes: 512, bandwidthReps: 5 }
      : { matmulSize: 4096, matmulReps: 5, bandwidthMegabytes: 1024, bandwidthReps: 8 },
    parity: {
      sequences: 2,
      sequenceTokens: 48,
      generationRows: 3,
      generationPromptTokens: 12,
      generationTokens: quick ? 12 : 24,
      tolerance: 1e-3,
    },
    generation: {
      promptTokens: quick ? 32 : 64,
      newTokens: quick ? 12 : 32,
      batches: [1, 8, 32],
      multiTurn: quick
        ? { batch: 8, turns: 3, observationTokens: 24, newTokens: 8 }
        : { batch: 8, turns: 3, observationTokens: 48, newTokens: 16 },
      temperature: 1,
      rounds: 2,
      repeats: 1,
    },
    logprobs: { rows: 4, tokens: quick ? 256 : 512, chunkSizes: [null], rounds: 1, repeats: 1, tolerance: 1e-3 },
    grpo: {
      rows: 4,
      tokens: quick ? 64 : 256,
      promptTokens: quick ? 16 : 64,
      rounds: quick ? 1 : 2,
      timedUpdates: 1,
      loss: { clipLow: 0.2, clipHigh: 0.2, klType: 'k3', klCoef: 0.001, entropyCoef: 0, aggregation: 'token-mean' },
      optimizer: { lr: 1e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1.0 },
      logitChunk: 256,
      tolerance: { lossAbs: 1e-4, gradNormRel: 1e-3, updateCosine: 0.99 },
      autocastTolerance: AUTOCAST_TOLERANCE,
    },
    // The lab's step: 16 questions x 5 rollouts, up to 4 turns of 24 tokens with ~20-token passages between.
    labStep: { rows: 80, promptTokens: 12, turns: 4, newTokens: 24, observationTokens: 20, temperature: 1, rounds: 2, steps: quick ? 2 : 4 },
    retrieval: {
      passages: quick ? 20_000 : 100_000,
      queries: quick ? 300 : 2000,
      k: 3,
      embedder: { ...DEFAULT_HASHED_SPEC },
      hnsw: { ...DEFAULT_HNSW_PARAMS },
      efSearchSweep: [32, 64, 128, 512],
    },
  };
}
