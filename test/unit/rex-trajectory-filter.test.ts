// The trajectory filter (§5): probe scores, top-K selection with a deterministic tie-break, the budget rounding,
// probe accuracy, and the adaptive keep ratio (pandas ewm(alpha=0.1, adjust=False)) with and without the DAPO cap.
import test from 'ava';

import {
  keepRatioInUse,
  keepRatioSchedule,
  nextKeepRatio,
  probeAccuracy,
  probeBudget,
  scoreProbe,
  selectProbes,
} from '../../lib/algo/trajectory-filter.js';
import { COMPONENT } from '../../lib/algo/components.js';

const M = COMPONENT.model;
const P = COMPONENT['probe-prompt'];
const I = COMPONENT.information;
const close = (a: number, b: number, tolerance = 1e-12) => Math.abs(a - b) <= tolerance;

test('scoreProbe: mean log π_old over the probe-prompt tokens only', (t) => {
  t.true(close(scoreProbe([-1, -2, -3, -4, -5, -6], [M, P, P, M, I, P]), -11 / 3));
  t.is(scoreProbe(Float32Array.from([-0.5, -1.5]), [P, P]), -1);
  t.throws(() => scoreProbe([-1, -2], [M, M]), { instanceOf: RangeError, message: /no probe-prompt tokens/ });
  t.throws(() => scoreProbe([-1], [M, P]), { instanceOf: RangeError, message: /oldLogps has 1 entries but components has 2/ });
  t.throws(() => scoreProbe([-1, NaN], [M, P]), { instanceOf: TypeError, message: /oldLogps\[1\]/ });
  t.throws(() => scoreProbe(null as never, [P]), { instanceOf: TypeError, message: /oldLogps/ });
});

test('selectProbes: top K by score, descending; ties by rowId; extra fields kept', (t) => {
  const probes = [
    { rowId: 12, score: -3, tag: 'a' },
    { rowId: 10, score: -1, tag: 'b' },
    { rowId: 15, score: -2, tag: 'c' },
    { rowId: 11, score: -2, tag: 'd' },
    { rowId: 14, score: -5, tag: 'e' },
  ];
  const { kept, dropped } = selectProbes(probes, 3);
  t.deepEqual(kept.map((p) => p.rowId), [10, 11, 15]);
  t.deepEqual(dropped.map((p) => p.rowId), [12, 14]);
  t.is(kept[1]!.tag, 'd');
  // The tie-break does not depend on the input order.
  t.deepEqual(selectProbes([...probes].reverse(), 3).kept.map((p) => p.rowId), [10, 11, 15]);
  // Fewer probes than the budget: all kept; budget 0: none; no probes: nothing.
  t.deepEqual(selectProbes(probes, 8).kept.map((p) => p.rowId), [10, 11, 15, 12, 14]);
  t.deepEqual(selectProbes(probes, 0), { kept: [], dropped: selectProbes(probes, 5).kept });
  t.deepEqual(selectProbes([], 304), { kept: [], dropped: [] });
  t.is(probes[0]!.rowId, 12, 'the input is not reordered');
  // −Infinity scores rank last.
  t.deepEqual(selectProbes([{ rowId: 1, score: -Infinity }, { rowId: 2, score: -40 }], 1).kept.map((p) => p.rowId), [2]);
  t.throws(() => selectProbes(probes, -1), { instanceOf: RangeError, message: /budget/ });
  t.throws(() => selectProbes([{ rowId: 1, score: NaN }], 1), { instanceOf: TypeError, message: /probes\[0\].score/ });
  t.throws(() => selectProbes([{ rowId: 1.5, score: 0 }], 1), { instanceOf: TypeError, message: /probes\[0\].rowId/ });
});

test('probeBudget: ⌊B·n·ρ⌋ rounded down to a multiple (the reference with 8 GPUs)', (t) => {
  t.is(probeBudget(512, 5, 0.12), 304); // 307.2 → 307 → 304
  t.is(probeBudget(512, 5, 0.08), 200); // 204.8 → 204 → 200
  t.is(probeBudget(512, 5, 0.12, 1), 307);
  t.is(probeBudget(512, 5, 0.08, 1), 204);
  t.is(probeBudget(4, 5, 0.12), 0); // 2.4 → 2 → 0
  t.is(probeBudget(4, 5, 0.12, 1), 2);
  t.is(probeBudget(512, 5, 0), 0);
  t.is(probeBudget(512, 5, 0.5, 16), 1280);
  t.throws(() => probeBudget(512, 0, 0.1), { instanceOf: RangeError, message: /groupSize/ });
  t.throws(() => probeBudget(512, 5, -0.1), { instanceOf: RangeError, message: /rho/ });
  t.throws(() => probeBudget(512, 5, Infinity), { instanceOf: RangeError, message: /rho must be finite/ });
  t.throws(() => probeBudget(512, 5, 0.1, 0), { instanceOf: RangeError, message: /multiple/ });
});

test('probeAccuracy: fraction of kept probes with reward ≥ 1, 0 when none', (t) => {
  t.is(probeAccuracy([1, 0, 1, 0.5]), 0.5);
  t.is(probeAccuracy([]), 0);
  t.is(probeAccuracy([0.5, 0.2], 0.5), 0.5);
  t.throws(() => probeAccuracy([1, 'x' as never]), { instanceOf: TypeError, message: /keptRewards\[1\]/ });
});

test('adaptive keep ratio: the EWM (alpha 0.1, adjust=False) over [keep_ratio, acc_1, …]', (t) => {
  t.true(close(nextKeepRatio(0.12, 0.5), 0.158));
  t.true(close(nextKeepRatio(0.12, 0.5, 0.5), 0.31));
  // By hand: ρ1 = 0.12; ρ2 = 0.9·0.12 + 0.1·0.5 = 0.158; ρ3 = 0.9·0.158 = 0.1422; ρ4 = 0.9·0.1422 + 0.1 = 0.22798.
  const schedule = keepRatioSchedule(0.12, [0.5, 0, 1]);
  [0.12, 0.158, 0.1422, 0.22798].forEach((rho, i) => t.true(close(schedule[i]!, rho), `ρ${i + 1} = ${schedule[i]}`));
  // pandas adjust=False is y0 = x0, y_t = (1 − a)·y_{t−1} + a·x_t: the closed form Σ weights = (1−a)^t x0 + Σ a(1−a)^{t−k} x_k.
  const accs = [0.3, 0.7, 0.1, 0.9, 0.4];
  const closed = 0.9 ** 5 * 0.12 + accs.reduce((s, x, k) => s + 0.1 * 0.9 ** (accs.length - 1 - k) * x, 0);
  t.true(close(keepRatioSchedule(0.12, accs).at(-1)!, closed));
  t.throws(() => nextKeepRatio(0.12, 1.5), { instanceOf: RangeError, message: /accProbe/ });
  t.throws(() => nextKeepRatio(0.12, 0.5, 2), { instanceOf: RangeError, message: /alpha/ });
});

test('DAPO cap: min(ρ, keep_ratio) on the value in use, the EWM state uncapped; off by default', (t) => {
  t.is(keepRatioInUse(0.158, 0.12), 0.158);
  t.is(keepRatioInUse(0.158, 0.12, { cap: true }), 0.12);
  t.is(keepRatioInUse(0.1, 0.12, { cap: true }), 0.1);
  const accs = [0.5, 0, 0, 0];
  // Uncapped states: 0.12, 0.158, 0.1422, 0.12798, 0.115182.
  const capped = keepRatioSchedule(0.12, accs, { cap: true });
  [0.12, 0.12, 0.12, 0.12, 0.115182].forEach((rho, i) => t.true(close(capped[i]!, rho), `ρ${i + 1} = ${capped[i]}`));
  // Feeding the capped value back would give 0.9^3·0.12 = 0.08748 at the last step instead.
  t.false(close(capped[4]!, 0.9 ** 3 * 0.12));
  t.true(close(keepRatioSchedule(0.12, accs)[1]!, 0.158));
  t.throws(() => keepRatioInUse(0.1, 0.12, { cap: 'yes' as never }), { instanceOf: TypeError, message: /options.cap/ });
});
