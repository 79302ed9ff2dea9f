// GRPO group advantages: hand-computed groups, std variants, eps, Dr. GRPO, verl's singleton rule, stats, errors.
import test from 'ava';

import { groupAdvantages } from '../../lib/algo/advantages.js';

const close = (actual: number, expected: number, tolerance = 1e-12) => Math.abs(actual - expected) <= tolerance;

test('one group [1,0,0,1,0]: mean 0.4, unbiased std sqrt(0.3)', (t) => {
  // Σ(r − 0.4)² = 2·0.36 + 3·0.16 = 1.2; sample variance 1.2/4 = 0.3.
  const { advantages, groups } = groupAdvantages([1, 0, 0, 1, 0], ['q', 'q', 'q', 'q', 'q']);
  const std = Math.sqrt(0.3);
  const expected = [0.6, -0.4, -0.4, 0.6, -0.4].map((c) => c / (std + 1e-6));
  advantages.forEach((a, i) => t.true(close(a, expected[i]!), `A[${i}] = ${a}, expected ${expected[i]}`));
  t.is(groups.length, 1);
  t.is(groups[0]!.size, 5);
  t.true(close(groups[0]!.mean, 0.4));
  t.true(close(groups[0]!.std, std));
  t.false(groups[0]!.allZero);
  t.false(groups[0]!.allCorrect);
});

test('population std divides by N', (t) => {
  const { advantages, groups } = groupAdvantages([1, 0, 0, 1, 0], [7, 7, 7, 7, 7], { std: 'population' });
  const std = Math.sqrt(1.2 / 5);
  t.true(close(groups[0]!.std, std));
  t.true(close(advantages[0]!, 0.6 / (std + 1e-6)));
  t.true(close(advantages[1]!, -0.4 / (std + 1e-6)));
});

test('eps is added to the std', (t) => {
  const { advantages } = groupAdvantages([1, 0], ['a', 'a'], { eps: 0.5 });
  // mean 0.5, sample std sqrt(0.5)
  t.true(close(advantages[0]!, 0.5 / (Math.sqrt(0.5) + 0.5)));
  t.true(close(advantages[1]!, -0.5 / (Math.sqrt(0.5) + 0.5)));
});

test('normalizeByStd false gives R − mean (Dr. GRPO)', (t) => {
  const { advantages } = groupAdvantages([1, 0, 0, 1, 0], Array(5).fill('q'), { normalizeByStd: false });
  t.deepEqual(advantages.map((a) => Math.round(a * 1e12) / 1e12), [0.6, -0.4, -0.4, 0.6, -0.4]);
});

test('a singleton group uses mean 0 and std 1 as verl does', (t) => {
  const normalised = groupAdvantages([0.7], ['solo']);
  t.true(close(normalised.advantages[0]!, 0.7 / (1 + 1e-6)));
  t.is(normalised.groups[0]!.mean, 0);
  t.is(normalised.groups[0]!.std, 1);
  t.deepEqual(groupAdvantages([0.7], ['solo'], { normalizeByStd: false }).advantages, [0.7]);
  // A lone failure stays 0, a lone success stays positive.
  t.deepEqual(groupAdvantages([0, 1], ['x', 'y'], { normalizeByStd: false }).advantages, [0, 1]);
});

test('all-equal groups give zero advantages and are counted as all-zero / all-correct', (t) => {
  const result = groupAdvantages([1, 1, 1, 0, 0, 0.5, 0.5], ['c', 'c', 'c', 'z', 'z', 'h', 'h']);
  t.deepEqual(result.advantages, [0, 0, 0, 0, 0, 0, 0]);
  t.is(result.allCorrectGroups, 1);
  t.is(result.allZeroGroups, 1);
  t.deepEqual(
    result.groups.map((g) => [g.groupId, g.allZero, g.allCorrect]),
    [['c', false, true], ['z', true, false], ['h', false, false]],
  );
  // eps = 0 does not turn 0/0 into NaN.
  t.deepEqual(groupAdvantages([1, 1], ['c', 'c'], { eps: 0 }).advantages, [0, 0]);
});

test('interleaved group ids are grouped by id; 1 and "1" are different groups', (t) => {
  const result = groupAdvantages([1, 0, 0, 0, 3], ['a', 'b', 'a', 'b', 1]);
  const a = 0.5 / (Math.sqrt(0.5) + 1e-6);
  t.true(close(result.advantages[0]!, a));
  t.true(close(result.advantages[2]!, -a));
  t.is(result.advantages[1], 0);
  t.is(result.advantages[3], 0);
  t.true(close(result.advantages[4]!, 3 / (1 + 1e-6)));
  t.deepEqual(result.groups.map((g) => [g.groupId, g.size]), [['a', 2], ['b', 2], [1, 1]]);
  const mixed = groupAdvantages([1, 0], [1, '1'], { normalizeByStd: false });
  t.deepEqual(mixed.advantages, [1, 0]);
  t.is(mixed.groups.length, 2);
});

test('bad input is rejected with a named error', (t) => {
  t.throws(() => groupAdvantages([1, 0], ['a']), { instanceOf: RangeError, message: /same length, got 2 and 1/ });
  t.throws(() => groupAdvantages([1, Number.NaN], ['a', 'a']), { instanceOf: TypeError, message: /rewards\[1\] must be a finite number/ });
  t.throws(() => groupAdvantages([Infinity], ['a']), { instanceOf: TypeError, message: /rewards\[0\]/ });
  t.throws(() => groupAdvantages([1], [null as unknown as string]), { instanceOf: TypeError, message: /groupIds\[0\]/ });
  t.throws(() => groupAdvantages([1], ['a'], { std: 'biased' as 'sample' }), { instanceOf: RangeError, message: /options.std/ });
  t.throws(() => groupAdvantages([1], ['a'], { eps: -1 }), { instanceOf: RangeError, message: /options.eps/ });
  t.throws(() => groupAdvantages('1' as unknown as number[], ['a']), { instanceOf: TypeError, message: /rewards must be an array/ });
  t.deepEqual(groupAdvantages([], []).advantages, []);
});
