// The fuzzers' seeded choices: every case draws from mulberry32(mixSeed(run seed, case index)), so one number
// (printed with any failure) replays the case exactly: `npm run fuzz -- --seed S --cases 1 --first K`.
import { mixSeed, mulberry32, type RandomSource } from '../../lib/util/random.js';

export interface Draw {
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

/** The draws of case `index` of a run seeded `seed`. */
export function caseDraw(seed: number, index: number): Draw {
  const random: RandomSource = mulberry32(mixSeed(seed, index));
  const int = (n: number) => Math.floor(random() * n);
  return { int, pick: (items) => items[int(items.length)]!, chance: (p) => random() < p };
}

/** Values that break assumptions: wrong types, edges, huge and non-finite numbers, deep or long structures. */
export function oddValue(draw: Draw): unknown {
  return draw.pick<() => unknown>([
    () => null, () => true, () => 'text', () => '', () => [], () => ({}), () => -1, () => 0, () => 1, () => 0.5,
    () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 1e30, () => -1e30, () => 1e308, () => '1e8', () => [1, 2, 3],
    () => ({ nested: { deeper: [null] } }), () => 'x'.repeat(1000), () => '\u0000\ud800', () => -0,
  ])();
}
