// The reference policy loss: each clip branch, dual clip, KL types and clamps, aggregations, masked rows,
// extreme ratios, the analytic gradient against finite differences, and AdamW against torch's numbers.
import test from 'ava';

import {
  klPenalty,
  ppoTerm,
  referenceAdamWStep,
  referencePolicyLoss,
  type KlType,
  type LossAggregation,
  type ReferenceLossInputs,
  type ReferenceLossOptions,
} from '../helpers/reference-loss.js';

const close = (actual: number, expected: number, tolerance = 1e-12) => Math.abs(actual - expected) <= tolerance;

test('PPO term: unclipped, clipped high, clipped low, and the unclipped side of each bound', (t) => {
  const at = (ratio: number, advantage: number) => ppoTerm(Math.log(ratio), 0, advantage, 0.2, 0.2, null);
  // A > 0, r = 1.5 > 1.2: max(−1.5, −1.2) = −1.2, clipped, no gradient.
  let term = at(1.5, 1);
  t.true(close(term.loss, -1.2));
  t.is(term.grad, 0);
  t.is(term.clipped, 'high');
  // A > 0, r = 0.5: max(−0.5, −0.8) = −0.5, unclipped, gradient −A·r.
  term = at(0.5, 1);
  t.true(close(term.loss, -0.5));
  t.true(close(term.grad, -0.5));
  t.is(term.clipped, 'none');
  // A < 0, r = 0.5 < 0.8: max(0.5, 0.8) = 0.8, clipped low.
  term = at(0.5, -1);
  t.true(close(term.loss, 0.8));
  t.is(term.grad, 0);
  t.is(term.clipped, 'low');
  // A < 0, r = 1.5: max(1.5, 1.2) = 1.5, unclipped, gradient −A·r = 1.5.
  term = at(1.5, -1);
  t.true(close(term.loss, 1.5));
  t.true(close(term.grad, 1.5));
  // Inside the range: −A·r.
  term = at(1.1, 2);
  t.true(close(term.loss, -2.2));
  t.true(close(term.grad, -2.2));
  // Asymmetric clip: low 0.1, high 0.3.
  t.true(close(ppoTerm(Math.log(1.25), 0, 1, 0.1, 0.3, null).loss, -1.25));
  t.true(close(ppoTerm(Math.log(1.4), 0, 1, 0.1, 0.3, null).loss, -1.3));
  t.true(close(ppoTerm(Math.log(0.85), 0, -1, 0.1, 0.3, null).loss, 0.9));
});

test('dual clip bounds the loss of negative advantages by −A·c', (t) => {
  let term = ppoTerm(Math.log(5), 0, -1, 0.2, 0.2, 3);
  t.true(close(term.loss, 3));
  t.is(term.grad, 0);
  t.is(term.clipped, 'dual');
  term = ppoTerm(Math.log(2), 0, -1, 0.2, 0.2, 3);
  t.true(close(term.loss, 2));
  t.true(close(term.grad, 2));
  // Positive advantages are unaffected.
  t.true(close(ppoTerm(Math.log(5), 0, 1, 0.2, 0.2, 3).loss, -1.2));
  // Without dual clip the same token costs 5.
  t.true(close(ppoTerm(Math.log(5), 0, -1, 0.2, 0.2, null).loss, 5));
});

test('KL estimates k1, k2, k3 and the k3 clamps', (t) => {
  t.deepEqual(klPenalty(-1, -2, 'k1'), { kl: 1, grad: 1 });
  t.deepEqual(klPenalty(-1, -2, 'k2'), { kl: 0.5, grad: 1 });
  t.deepEqual(klPenalty(-1, -2, 'none'), { kl: 0, grad: 0 });
  // k3 with d = ref − logp = −1: e^−1 + 1 − 1.
  let k3 = klPenalty(-1, -2, 'k3');
  t.true(close(k3.kl, Math.exp(-1)));
  t.true(close(k3.grad, 1 - Math.exp(-1)));
  // d = 2: e² − 3 ≈ 4.389, inside the clamp.
  k3 = klPenalty(0, 2, 'k3');
  t.true(close(k3.kl, Math.exp(2) - 3));
  t.true(close(k3.grad, 1 - Math.exp(2)));
  // d = 3: e³ − 4 ≈ 16.09 → clamped to 10, no gradient.
  t.deepEqual(klPenalty(0, 3, 'k3'), { kl: 10, grad: 0 });
  // d = 30 → d clamped to 20 and the value to 10.
  t.deepEqual(klPenalty(-30, 0, 'k3').kl, 10);
  // d = −30 → d clamped to −20: e^−20 + 19 → clamped to 10, no gradient.
  t.deepEqual(klPenalty(0, -30, 'k3'), { kl: 10, grad: 0 });
  // Equal log-probs: no divergence.
  t.deepEqual(klPenalty(-0.5, -0.5, 'k3'), { kl: 0, grad: 0 });
});

// Two live rows and one fully masked row, ratio 1 everywhere, so the PPO term is −A per token.
function aggregationInputs(): ReferenceLossInputs {
  return {
    logps: [[-1, -1, -1], [-2, -2, -2], [-3, -3]],
    behaviourLogps: [[-1, -1, -1], [-2, -2, -2], [-3, -3]],
    advantages: [3, -1, 5],
    lossMask: [[1, 1, 0], [1, 1, 1], [0, 0]],
  };
}

test('aggregation modes follow verl agg_loss, fully masked rows excluded', (t) => {
  // Row 0: tokens −3, −3 (sum −6, mean −3); row 1: 1, 1, 1 (sum 3, mean 1); row 2 masked out.
  const expectations: [LossAggregation, number, number[][]][] = [
    ['token-mean', (-6 + 3) / 5, [[-3 / 5, -3 / 5, 0], [1 / 5, 1 / 5, 1 / 5], [0, 0]]],
    ['seq-mean-token-sum', (-6 + 3) / 2, [[-3 / 2, -3 / 2, 0], [1 / 2, 1 / 2, 1 / 2], [0, 0]]],
    ['seq-mean-token-mean', (-3 + 1) / 2, [[-3 / 4, -3 / 4, 0], [1 / 6, 1 / 6, 1 / 6], [0, 0]]],
  ];
  for (const [aggregation, loss, grads] of expectations) {
    const result = referencePolicyLoss(aggregationInputs(), { aggregation, klType: 'none' });
    t.true(close(result.loss, loss), `${aggregation}: loss ${result.loss}, expected ${loss}`);
    result.gradLogps.forEach((row, i) =>
      row.forEach((g, j) => t.true(close(g, grads[i]![j]!), `${aggregation}: grad[${i}][${j}] = ${g}, expected ${grads[i]![j]}`)),
    );
    t.is(result.metrics.tokens, 5);
    t.is(result.metrics.rows, 2);
  }
});

test("per-token advantages, KL and entropy terms add up as verl's actor does", (t) => {
  const inputs: ReferenceLossInputs = {
    logps: [[-1, -2]],
    behaviourLogps: [[-1, -2]],
    refLogps: [[-2, -2]],
    advantages: [[1, -1]],
    lossMask: [[1, 1]],
    entropies: [[2, 4]],
  };
  const result = referencePolicyLoss(inputs, { klType: 'k1', klCoef: 0.1, entropyCoef: 0.01 });
  // pg: (−1 + 1)/2 = 0; k1: (1 + 0)/2 = 0.5; entropy: (2 + 4)/2 = 3.
  t.true(close(result.pgLoss, 0));
  t.true(close(result.klLoss, 0.5));
  t.true(close(result.entropyLoss, 3));
  t.true(close(result.loss, 0 + 0.1 * 0.5 - 0.01 * 3));
  // d/dlogp: (−A·r + 0.1·1)/2.
  t.true(close(result.gradLogps[0]![0]!, (-1 + 0.1) / 2));
  t.true(close(result.gradLogps[0]![1]!, (1 + 0.1) / 2));
  t.deepEqual(result.gradEntropies, [[-0.005, -0.005]]);
  t.true(close(result.metrics.entropyMean, 3));
  t.true(close(result.metrics.klMean, 0.5));
});

test('metrics: clip fractions per side, approx KL, ratio mean and max', (t) => {
  const ratios = [1.5, 0.5, 1.0, 0.5];
  const advantages = [1, -1, 1, 1];
  const inputs: ReferenceLossInputs = {
    logps: [ratios.map(Math.log)],
    behaviourLogps: [[0, 0, 0, 0]],
    refLogps: [[0, 0, 0, 0]],
    advantages: [advantages],
    lossMask: [[1, 1, 1, 1]],
  };
  const { metrics } = referencePolicyLoss(inputs);
  t.is(metrics.clipFracHigh, 0.25); // token 0
  t.is(metrics.clipFracLow, 0.25); // token 1 (token 3 has A > 0: unclipped)
  t.is(metrics.clipFracDual, 0);
  t.true(close(metrics.approxKl, -ratios.map(Math.log).reduce((a, b) => a + b) / 4));
  t.true(close(metrics.ratioMean, 3.5 / 4));
  t.true(close(metrics.ratioMax, 1.5));
  const dual = referencePolicyLoss({ ...inputs, logps: [[Math.log(5), 0, 0, 0]], advantages: [[-1, 1, 1, 1]] }, { dualClip: 3 });
  t.is(dual.metrics.clipFracDual, 0.25);
});

test('no loss tokens: loss 0 and finite metrics in every aggregation', (t) => {
  for (const aggregation of ['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean'] as const) {
    const result = referencePolicyLoss(
      { logps: [[-1, -2], []], behaviourLogps: [[0, 0], []], refLogps: [[0, 0], []], advantages: [1, 1], lossMask: [[0, 0], []] },
      { aggregation },
    );
    t.is(result.loss, 0);
    t.deepEqual(result.gradLogps, [[0, 0], []]);
    t.true(Object.values(result.metrics).every((value) => value === 0), JSON.stringify(result.metrics));
  }
  t.is(referencePolicyLoss({ logps: [], behaviourLogps: [], refLogps: [], advantages: [], lossMask: [] }).loss, 0);
});

test('all-zero advantages leave only the KL term', (t) => {
  const inputs: ReferenceLossInputs = {
    logps: [[-1, -0.5]],
    behaviourLogps: [[-2, -0.1]],
    refLogps: [[-2, -0.5]],
    advantages: [0],
    lossMask: [[1, 1]],
  };
  const result = referencePolicyLoss(inputs);
  t.is(result.pgLoss, 0);
  const k3 = (Math.exp(-1) + 1 - 1 + 0) / 2;
  t.true(close(result.loss, 0.001 * k3));
  t.is(result.metrics.clipFracHigh, 0);
  t.is(result.metrics.clipFracLow, 0);
  t.true(close(result.gradLogps[0]![0]!, (0.001 * (1 - Math.exp(-1))) / 2));
});

test('extreme log-ratios (±50) stay finite', (t) => {
  for (const delta of [50, -50]) {
    for (const advantage of [1, -1]) {
      for (const dualClip of [null, 3]) {
        const result = referencePolicyLoss(
          { logps: [[delta - 1]], behaviourLogps: [[-1]], refLogps: [[-1]], advantages: [advantage], lossMask: [[1]] },
          { dualClip },
        );
        const values = [result.loss, result.gradLogps[0]![0]!, ...Object.values(result.metrics)];
        t.true(values.every(Number.isFinite), `delta ${delta}, A ${advantage}, dual ${dualClip}: ${JSON.stringify(result)}`);
      }
    }
  }
  // A < 0 with a huge ratio: unbounded without dual clip, −A·c with it.
  const huge = { logps: [[49]], behaviourLogps: [[-1]], refLogps: [[-1]], advantages: [-1], lossMask: [[1]] };
  t.true(close(referencePolicyLoss(huge, { klType: 'none' }).loss, Math.exp(50), Math.exp(50) * 1e-12));
  t.is(referencePolicyLoss(huge, { klType: 'none', dualClip: 3 }).loss, 3);
});

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the analytic gradient matches central finite differences', (t) => {
  const next = random(42);
  const lengths = [5, 3, 4, 2];
  const behaviour = lengths.map((n) => Array.from({ length: n }, () => -0.5 - 2 * next()));
  const inputs = (): ReferenceLossInputs => ({
    logps: behaviour.map((row) => row.map((b) => b + (next() - 0.5))), // ratios in [0.6, 1.65]
    behaviourLogps: behaviour,
    refLogps: behaviour.map((row) => row.map((b) => b + (next() - 0.6) * 3)),
    advantages: lengths.map((n) => Array.from({ length: n }, () => 2 * next() - 1)),
    lossMask: lengths.map((n, i) => Array.from({ length: n }, (_, j) => (i === 3 ? 0 : j === 0 && i === 1 ? 0 : 1))),
    entropies: lengths.map((n) => Array.from({ length: n }, () => next())),
  });
  const h = 1e-6;
  let checked = 0;
  for (const klType of ['none', 'k1', 'k2', 'k3'] as KlType[]) {
    for (const aggregation of ['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean'] as LossAggregation[]) {
      for (const dualClip of [null, 1.5]) {
        const base = inputs();
        const options: ReferenceLossOptions = { klType, aggregation, dualClip, klCoef: 0.1, entropyCoef: 0.01 };
        const analytic = referencePolicyLoss(base, options).gradLogps;
        base.logps.forEach((row, i) => {
          for (let j = 0; j < row.length; j++) {
            const shifted = (delta: number) => {
              const logps = base.logps.map((r) => Array.from(r));
              logps[i]![j]! += delta;
              return referencePolicyLoss({ ...base, logps }, options).loss;
            };
            const numeric = (shifted(h) - shifted(-h)) / (2 * h);
            const difference = Math.abs(numeric - analytic[i]![j]!);
            t.true(difference < 1e-6, `${klType}/${aggregation}/dual ${dualClip} [${i}][${j}]: analytic ${analytic[i]![j]} numeric ${numeric}`);
            checked++;
          }
        });
      }
    }
  }
  t.is(checked, 4 * 3 * 2 * 14);
});

test('bad inputs name the problem', (t) => {
  const good: ReferenceLossInputs = { logps: [[-1]], behaviourLogps: [[-1]], refLogps: [[-1]], advantages: [1], lossMask: [[1]] };
  t.notThrows(() => referencePolicyLoss(good));
  t.throws(() => referencePolicyLoss({ ...good, behaviourLogps: [[-1, -2]] }), { instanceOf: RangeError, message: /inputs.behaviourLogps\[0\] must have 1 values/ });
  t.throws(() => referencePolicyLoss({ ...good, lossMask: [[2]] }), { instanceOf: RangeError, message: /lossMask\[0\]\[0\] must be 0 or 1/ });
  t.throws(() => referencePolicyLoss({ ...good, logps: [[Number.NaN]] }), { instanceOf: TypeError, message: /inputs.logps\[0\]\[0\] must be a finite number/ });
  t.throws(() => referencePolicyLoss({ ...good, refLogps: undefined }), { instanceOf: TypeError, message: /inputs.refLogps must be an array/ });
  t.notThrows(() => referencePolicyLoss({ ...good, refLogps: undefined }, { klType: 'none' }));
  t.throws(() => referencePolicyLoss(good, { entropyCoef: 0.1 }), { instanceOf: TypeError, message: /inputs.entropies/ });
  t.throws(() => referencePolicyLoss({ ...good, advantages: [1, 2] }), { instanceOf: RangeError, message: /inputs.advantages must have 1 rows/ });
  t.throws(() => referencePolicyLoss(good, { aggregation: 'mean' as LossAggregation }), { instanceOf: RangeError, message: /options.aggregation/ });
  t.throws(() => referencePolicyLoss(good, { klType: 'k4' as KlType }), { instanceOf: RangeError, message: /options.klType/ });
  t.throws(() => referencePolicyLoss(good, { dualClip: 1 }), { instanceOf: RangeError, message: /options.dualClip must be greater than 1/ });
  t.throws(() => referencePolicyLoss(good, { clipLow: -0.1 }), { instanceOf: RangeError, message: /options.clipLow/ });
});

test('AdamW: two steps match torch.optim.AdamW', (t) => {
  const options = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const params = [[1.0, -2.0]];
  const first = referenceAdamWStep(params, [[0.5, -1.0]], null, options);
  // By hand, step 1 of p = 1 with g = 0.5: p·(1 − 0.001) = 0.999; m = 0.05, v = 0.00025;
  // m̂ = 0.05/0.1 = 0.5, √v̂ = √(0.00025/0.001) = 0.5; p = 0.999 − 0.1·0.5/(0.5 + 1e-8) = 0.899000002.
  // And p = −2, g = −1: −1.998 + 0.1·1/(1 + 1e-8) = −1.898000001.
  t.true(close(first.params[0]![0]!, 0.899000002, 1e-15));
  t.true(close(first.params[0]![1]!, -1.898000001, 1e-15));
  t.is(first.state.step, 1);
  t.deepEqual(params, [[1.0, -2.0]], 'inputs are not modified');
  const second = referenceAdamWStep(first.params, [[0.1, 0.2]], first.state, options);
  // torch 1.13, float64: [0.8177969063826518, -1.8449993939894944]; exp_avg [0.055, −0.07]; exp_avg_sq [0.00025975, 0.001039].
  t.true(close(second.params[0]![0]!, 0.8177969063826518, 1e-15));
  t.true(close(second.params[0]![1]!, -1.8449993939894944, 1e-15));
  t.true(close(second.state.expAvg[0]![0]!, 0.055, 1e-15));
  t.true(close(second.state.expAvg[0]![1]!, -0.07, 1e-15));
  t.true(close(second.state.expAvgSq[0]![0]!, 0.00025975, 1e-15));
  t.true(close(second.state.expAvgSq[0]![1]!, 0.001039, 1e-15));
  t.is(second.state.step, 2);
  t.throws(() => referenceAdamWStep(params, [[1]], null, options), { instanceOf: RangeError, message: /grads\[0\] must have 2 values/ });
  t.throws(() => referenceAdamWStep(params, [], null, options), { instanceOf: RangeError });
  t.throws(() => referenceAdamWStep(params, [[1, Infinity]], null, options), { instanceOf: TypeError, message: /grads\[0\]\[1\]/ });
});
