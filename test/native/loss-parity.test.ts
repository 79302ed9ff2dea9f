// The native policy loss, its backward pass and the AdamW update against the plain float64 TypeScript
// reference (test/helpers/reference-loss.ts) on random inputs: every KL estimator and aggregation, dual clip,
// entropy bonus, masked rows, all-zero advantages and extreme ratios.
import test from 'ava';

import { mulberry32 } from '../../lib/util/random.js';
import { referenceAdamWStep, referencePolicyLoss, type KlType, type LossAggregation } from '../helpers/reference-loss.js';
import { lossConfigSchema, optimizerConfigSchema } from '../../lib/config/train-config.js';
import { native } from '../../lib/native.js';

function makeBatch(seed: number) {
  const rand = mulberry32(seed);
  const rows = 6;
  const lengths = Array.from({ length: rows }, () => 3 + Math.floor(rand() * 7));
  const row = (fill: (r: number, t: number) => number) => lengths.map((n, r) => Array.from({ length: n }, (_, t) => fill(r, t)));
  const logps = row(() => -5 * rand());
  const behaviourLogps = logps.map((values, r) =>
    values.map((v, t) => {
      if (r === 2 && t === 1) return v - 50;  // ratio e^50
      if (r === 3 && t === 2) return v + 50;  // ratio e^-50
      return v + (rand() - 0.5) * 0.8;        // ratios on both sides of the clip range
    }),
  );
  const refLogps = logps.map((values) => values.map((v) => v + (rand() - 0.5) * 2));
  const lossMask = row((r, t) => (t === 0 || r === 4 ? 0 : rand() < 0.8 ? 1 : 0));  // row 4 fully masked
  const advantages = lengths.map((_, r) => (r === 5 ? 0 : (rand() - 0.5) * 4));   // row 5 all-zero advantage
  const entropies = row(() => 3 * rand());
  return { lengths, logps, behaviourLogps, refLogps, lossMask, advantages, entropies };
}

const flat = (rows: number[][]) => Float32Array.from(rows.flat());

for (const klType of ['none', 'k1', 'k2', 'k3'] as KlType[]) {
  for (const aggregation of ['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean'] as LossAggregation[]) {
    test(`native loss and gradient equal the reference: kl ${klType}, ${aggregation}`, (t) => {
      for (const [seed, dualClip, entropyCoef] of [[1, 0, 0], [2, 3, 0.01], [3, 0, -0.02]] as const) {
        const batch = makeBatch(seed * 31 + klType.length);
        // Round inputs to float32 first so both sides see the same numbers.
        const f32 = (rows: number[][]) => rows.map((r) => Array.from(Float32Array.from(r)));
        const inputs = {
          logps: f32(batch.logps), behaviourLogps: f32(batch.behaviourLogps), refLogps: f32(batch.refLogps),
          lossMask: batch.lossMask, entropies: f32(batch.entropies),
          advantages: batch.lengths.map((n, r) => Array(n).fill(Math.fround(batch.advantages[r]!))),
        };
        const options = { klType, aggregation, klCoef: 0.05, entropyCoef, clipLow: 0.2, clipHigh: 0.28, ...(dualClip ? { dualClip } : {}) };
        const expected = referencePolicyLoss(inputs, options);
        const actual = native().checks.policyLoss({
          logps: flat(inputs.logps), behaviourLogps: flat(inputs.behaviourLogps), refLogps: flat(inputs.refLogps),
          lossMask: flat(inputs.lossMask), entropies: flat(inputs.entropies), advantages: flat(inputs.advantages),
          lengths: Int32Array.from(batch.lengths),
        }, lossConfigSchema.parse(options));
        const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
        t.true(relative(actual['train/loss'], expected.loss) < 1e-5, `seed ${seed}: loss ${actual['train/loss']} vs ${expected.loss}`);
        const gradScale = Math.max(1, ...expected.gradLogps.flat().map(Math.abs));
        let gradDiff = 0;
        expected.gradLogps.flat().forEach((g, i) => (gradDiff = Math.max(gradDiff, Math.abs(actual.gradLogps[i]! - g) / gradScale)));
        expected.gradEntropies.flat().forEach((g, i) => (gradDiff = Math.max(gradDiff, Math.abs(actual.gradEntropies[i]! - g))));
        t.true(gradDiff < 1e-5, `seed ${seed}: largest gradient difference ${gradDiff}`);
        t.true(Number.isFinite(actual['train/loss']));
        const m = expected.metrics;
        t.true(Math.abs(actual['train/clip_frac_high'] - m.clipFracHigh) < 1e-9 && Math.abs(actual['train/clip_frac_low'] - m.clipFracLow) < 1e-9, 'clip fractions');
        t.true(relative(actual['train/approx_kl'], m.approxKl) < 1e-5, 'approx KL');
        t.true(relative(actual['train/kl'], m.klMean) < 1e-5, 'KL to reference');
        t.true(relative(actual['train/ratio_max'], m.ratioMax) < 1e-5, 'max ratio');
        t.true(relative(actual['train/entropy'], m.entropyMean) < 1e-5, 'entropy');
        t.is(actual['train/tokens'], m.tokens);
      }
    });
  }
}

test('a batch with no loss tokens gives loss 0 and zero gradients, not NaN', (t) => {
  const lengths = Int32Array.from([3, 2]);
  const zeros = new Float32Array(5);
  const result = native().checks.policyLoss({ logps: zeros, behaviourLogps: zeros, refLogps: zeros, lossMask: zeros, advantages: zeros, lengths }, lossConfigSchema.parse({}));
  t.is(result['train/loss'], 0);
  t.true(result.gradLogps.every((g) => g === 0));
});

for (const fused of [true, false]) {
  test(`the native AdamW update (${fused ? 'fused CPU pass' : 'ATen ops'}) equals torch.optim.AdamW semantics (reference) over several steps`, (t) => {
    const rand = mulberry32(9);
    const n = 70_001; // several of the fused pass's parallel blocks
    let params: Float32Array = Float32Array.from({ length: n }, () => rand() - 0.5);
    let expAvg: Float32Array = new Float32Array(n);
    let expAvgSq: Float32Array = new Float32Array(n);
    let reference = { params: [Array.from(params)], state: null as Parameters<typeof referenceAdamWStep>[2] };
    const options = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    for (let step = 1; step <= 5; step++) {
      const grads = Float32Array.from({ length: n }, () => (rand() - 0.5) * 3);
      const gradScale = step === 3 ? 0.25 : 1; // a clipped update
      const out = native().checks.adamwUpdate({ params, grads, expAvg, expAvgSq, step, gradScale, fused, ...optimizerConfigSchema.parse(options) });
      ({ params, expAvg, expAvgSq } = out);
      const next = referenceAdamWStep(reference.params, [Array.from(grads, (g) => g * gradScale)], reference.state, options);
      reference = { params: next.params, state: next.state };
    }
    let diff = 0;
    reference.params[0]!.forEach((p, i) => (diff = Math.max(diff, Math.abs(p - params[i]!))));
    t.true(diff < 1e-6, `largest parameter difference after 5 steps: ${diff}`);
  });
}

test('the chunked LM-head log-prob kernel and its recomputing backward equal plain autograd', (t) => {
  // maxLogits small enough that the vocabulary is cut into many slices (online log-sum-exp across them).
  // A temperature divides the logits on both sides (forward and the recomputing backward).
  const cases = [[7, 0, 1 << 24, 1], [64, 0.3, 37 * 50, 1], [1, -1, 40, 1], [16, 0.5, 16 * 17, 1], [16, 0.5, 16 * 17, 0.7], [5, -1, 40, 1.6]] as const;
  for (const [chunk, entropyWeight, maxLogits, temperature] of cases) {
    const d = native().checks.tokenLogprobs({ rows: 37, hidden: 16, vocab: 301, chunk, entropyWeight, seed: chunk, maxLogits, temperature });
    t.true(d.logp < 1e-5 && d.entropy < 1e-4, `chunk ${chunk}, T ${temperature}: logp ${d.logp}, entropy ${d.entropy}`);
    t.true(d.gradHidden < 1e-4 && d.gradWeight < 1e-4, `chunk ${chunk}, entropy weight ${entropyWeight}, T ${temperature}: grad hidden ${d.gradHidden}, grad weight ${d.gradWeight}`);
  }
});
