// Deterministic synthetic inputs shared by rexrag and the PyTorch reference: a seeded PRNG, the token byte
// table (mirrored by benchmarks/python/common.py token_bytes()), prompts, observations and GRPO batches.
// The retrieval corpus generator is in corpus.ts.
import { mulberry32 } from '../../lib/util/random.js';

/** The library's seeded PRNG (mulberry32): the same seed gives the same stream on every machine. */
export function createRng(seed: number): () => number {
  return mulberry32(seed);
}

/** An integer in [min, max). */
export function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min));
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** The last ids of the vocabulary stand for special pieces (counted from the end: 1 is the last id). */
const SPECIAL_PIECES = new Map<number, string>([
  [1, '<|im_end|>'],
  [2, '</search>'],
  [3, '</answer>'],
]);
/** Ordinary tokens are drawn below this many ids from the end, so prompts never contain the special pieces. */
export const RESERVED_TOP_IDS = 4;

/**
 * The byte string of every token id: the last three ids are `<|im_end|>` (EOS), `</search>` and `</answer>`
 * (the rollout stop strings); every other id is three characters, so stop strings can straddle tokens.
 */
export function tokenBytes(vocabSize: number): Uint8Array[] {
  const encoder = new TextEncoder();
  return Array.from({ length: vocabSize }, (_, i) => {
    const special = SPECIAL_PIECES.get(vocabSize - i);
    if (special !== undefined) return encoder.encode(special);
    const third = i % 5 === 0 ? ' ' : LETTERS[(i * 7) % 26]!;
    return encoder.encode(LETTERS[i % 26]! + LETTERS[Math.floor(i / 26) % 26]! + third);
  });
}

/** The EOS id and stop strings matching tokenBytes(). */
export function rolloutStops(vocabSize: number): { eosTokenIds: number[]; stopStrings: string[] } {
  return { eosTokenIds: [vocabSize - 1], stopStrings: ['</search>', '</answer>'] };
}

/** `count` ordinary token ids. */
export function randomTokens(rng: () => number, count: number, vocabSize: number): number[] {
  return Array.from({ length: count }, () => randomInt(rng, 0, vocabSize - RESERVED_TOP_IDS));
}

/** `rows` prompts whose lengths vary in [¾·maxTokens, maxTokens], so batches carry padding. */
export function randomPrompts(seed: number, rows: number, maxTokens: number, vocabSize: number): number[][] {
  const rng = createRng(seed);
  const min = Math.max(1, Math.ceil(maxTokens * 0.75));
  return Array.from({ length: rows }, () => randomTokens(rng, randomInt(rng, min, maxTokens + 1), vocabSize));
}

/** Observations for `turns` turns × `rows` rows, each exactly `tokens` long. */
export function randomObservations(seed: number, turns: number, rows: number, tokens: number, vocabSize: number): number[][][] {
  const rng = createRng(seed);
  return Array.from({ length: turns }, () => Array.from({ length: rows }, () => randomTokens(rng, tokens, vocabSize)));
}

/** Rows of exactly `tokens` ids each (teacher-forced scoring and training batches). */
export function randomSequences(seed: number, rows: number, tokens: number, vocabSize: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => randomTokens(rng, tokens, vocabSize));
}
