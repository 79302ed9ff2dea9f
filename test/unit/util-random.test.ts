// The shared seeded randomness: splitmix64 seed mixing gives distinct, reproducible seeds for nearby tuples.
import test from 'ava';

import { mixSeed, seededPermutation } from '../../lib/util/random.js';

test('mixSeed: deterministic, 53-bit, and nearby tuples that a sum would merge stay apart', (t) => {
  t.is(mixSeed(3, 1, 2), mixSeed(3, 1, 2));
  const seen = new Set<number>();
  for (let step = 0; step < 40; step++) {
    for (let call = 0; call < 40; call++) {
      const seed = mixSeed(7, step, call);
      t.true(Number.isSafeInteger(seed) && seed >= 0);
      seen.add(seed);
    }
  }
  t.is(seen.size, 1600, '(step s, call c+1) and (step s+1, call c) no longer share a seed');
  t.not(mixSeed(1, 0), mixSeed(0, 1));
  t.throws(() => mixSeed(-1), { instanceOf: RangeError, message: /parts\[0\]/ });
});

test('seededPermutation: a permutation, the same for the same seed', (t) => {
  const order = seededPermutation(50, 9);
  t.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  t.deepEqual(seededPermutation(50, 9), order);
  t.notDeepEqual(seededPermutation(50, 10), order);
});
