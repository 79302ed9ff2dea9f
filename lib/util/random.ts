// Small deterministic random numbers shared by every layer (probe triggers, prompt draws, question order, worlds):
// mulberry32, Python-style randint, shuffles, and streams keyed by a seed plus a string so that a draw does not
// depend on call order. Nothing here is cryptographic; torch-side sampling has its own seeds.
import { hashString } from './hash.js';
import { expectInteger, expectString } from '../validate.js';

/** A source of uniform floats in [0, 1). */
export type RandomSource = () => number;

/**
 * The 32-bit state of a seed: the seed itself modulo 2^32 for seeds in [-2^31, 2^32) (the streams seeds have
 * always given), and for larger safe integers the low 32 bits mixed with a hash of the high ones, so that seeds
 * 2^32 apart no longer share a stream (2^32 used to replay seed 0). Seeds past 2^53 are not exact numbers and
 * are refused.
 */
export function seedState(seed: number, name = 'seed'): number {
  expectInteger(seed, name);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`${name} must be a safe integer (|seed| < 2^53), got ${seed}`);
  if (seed >= -(2 ** 31) && seed < 2 ** 32) return seed >>> 0;
  const high = Math.floor(seed / 2 ** 32);
  return ((seed >>> 0) ^ hashString(String(high), 0x9e3779b9)) >>> 0;
}

/**
 * mulberry32: a 32-bit-state PRNG giving floats in [0, 1) with 32 bits of resolution. The same seed gives the
 * same stream on every machine. `seed` is any safe integer (see seedState).
 */
export function mulberry32(seed: number): RandomSource {
  let state = seedState(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A stream determined by (`seed`, `key`) only: mulberry32 seeded with a 32-bit hash of the key. Use it when the
 * order of the draws is not fixed (e.g. concurrent rollout cohorts): each decision gets its own stream.
 */
export function keyedRandom(seed: number, key: string): RandomSource {
  const state = seedState(seed);
  expectString(key, 'key');
  return mulberry32(hashString(key, state));
}

/**
 * An integer uniform on [low, high], both ends included, like Python's `random.randint(low, high)`:
 * low + ⌊u·(high − low + 1)⌋ for u = random().
 */
export function randomInt(random: RandomSource, low: number, high: number): number {
  expectInteger(low, 'low');
  expectInteger(high, 'high', { min: low });
  const u = drawUniform(random);
  return Math.min(high, low + Math.floor(u * (high - low + 1)));
}

/** One draw from `random`, checked to be a number in [0, 1) (a broken source is a clear error, not a bad index). */
export function drawUniform(random: RandomSource): number {
  if (typeof random !== 'function') throw new TypeError(`random must be a function returning numbers in [0, 1), got ${typeof random}`);
  const u = random();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) {
    throw new RangeError(`random() must return a number in [0, 1), got ${String(u)}`);
  }
  return u;
}

/** One element of `items`, uniformly. */
export function pick<T>(random: RandomSource, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('cannot pick from an empty list');
  return items[Math.min(items.length - 1, Math.floor(drawUniform(random) * items.length))]!;
}

/** A Fisher–Yates shuffle of a copy of `items` (the last position is drawn first). */
export function shuffled<T>(random: RandomSource, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(drawUniform(random) * (i + 1)));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The indices 0..n−1 in the order of a seeded Fisher–Yates shuffle (mulberry32 of `seed`). */
export function seededPermutation(n: number, seed: number): number[] {
  return shuffled(mulberry32(seed), Array.from({ length: n }, (_, i) => i));
}

const MASK64 = (1n << 64n) - 1n;

/** splitmix64's step: add the golden-ratio increment, then its finaliser (Steele et al.; 64-bit arithmetic). */
function splitmix64(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * One seed from several non-negative integers (e.g. run seed, step, cohort, call), each folded in through
 * splitmix64, so that nearby tuples give unrelated seeds: (step s, call c+1) and (step s+1, call c) no longer
 * collide as they would with a plain sum. The result is a 53-bit integer (exact as a JavaScript number).
 */
export function mixSeed(...parts: number[]): number {
  let state = 0n;
  parts.forEach((part, i) => {
    expectInteger(part, `parts[${i}]`, { min: 0, max: Number.MAX_SAFE_INTEGER });
    state = splitmix64(state ^ BigInt(part));
  });
  return Number(state >> 11n);
}
