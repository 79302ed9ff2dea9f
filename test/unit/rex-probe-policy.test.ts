// The REX-RAG behaviour log-probs β_t (§4.1) against a direct probability-space computation, the prefix identity
// Π μ = π_old(prefix)/z, α = 0, the §4.3 weights at θ = θ_old, the z = 0 guard, extreme log-probs, and batchMixture.
import test from 'ava';

import { batchMixture, computeBehaviourLogps, logAddExp } from '../../lib/algo/probe-policy.js';
import { PromptTrie } from '../../lib/explore/prompt-trie.js';
import { COMPONENT } from '../../lib/algo/components.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';

const M = COMPONENT.model;
const P = COMPONENT['probe-prompt'];
const I = COMPONENT.information;
const close = (a: number, b: number, tolerance = 1e-12) => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

const chars = new CharTokenizer();
const trie = PromptTrie.fromPrompts(chars, ['xab', 'xac', 'xad', 'xbd']);

// A probe: two model tokens, one information token, one model token (L = 4), the prompt "xab", two more.
const probe = {
  oldLogps: [-0.5, -1.2, -3.0, -0.1, -7.0, -6.5, -9.0, -0.3, -2.0],
  components: [M, M, I, M, P, P, P, M, M],
  isProbe: true,
  probePromptStart: 4,
  promptConditionals: trie.conditionals(chars.encode('xab')), // [1, 3/4, 1/3]
};

test('hand example: μ and β per token match the §4.1 table in probability space', (t) => {
  const alpha = 0.2;
  const z = 0.5;
  const result = computeBehaviourLogps({ ...probe, alpha, errorRate: z });
  const pi = probe.oldLogps.map(Math.exp);
  const L = 4;
  const expectedMu = [
    pi[0]! / z ** (1 / L), pi[1]! / z ** (1 / L), pi[2]! / z ** (1 / L), pi[3]! / z ** (1 / L),
    1, 3 / 4, 1 / 3,
    pi[7]!, pi[8]!,
  ];
  expectedMu.forEach((mu, i) => t.true(close(result.mu[i]!, mu), `μ[${i}] = ${result.mu[i]}, expected ${mu}`));
  const expectedBeta = pi.map((p, i) => (probe.components[i] === I ? p : (1 - alpha) * p + alpha * expectedMu[i]!));
  result.behaviourLogps.forEach((b, i) => t.true(close(b, Math.log(expectedBeta[i]!)), `log β[${i}]`));
  result.isWeights.forEach((w, i) => t.true(close(w, pi[i]! / expectedBeta[i]!), `ω[${i}]`));
  t.is(result.isWeights[2], 1, 'the masked information token keeps π_old');
  t.is(result.behaviourLogps[2], probe.oldLogps[2]);
  t.is(result.errorRate, z);
  t.false(result.errorRateClamped);
  t.true(close(result.logMu[5]!, Math.log(3 / 4)));
});

test('over the probe prefix, Π μ_t = π_old(prefix)/z (information tokens count in L)', (t) => {
  for (const z of [0.9, 0.5, 0.05]) {
    const { logMu } = computeBehaviourLogps({ ...probe, alpha: 0.1, errorRate: z });
    const sumLogMu = logMu.slice(0, 4).reduce((s, v) => s + v, 0);
    const sumOld = probe.oldLogps.slice(0, 4).reduce((s, v) => s + v, 0);
    t.true(close(sumLogMu, sumOld - Math.log(z)), `z = ${z}`);
    // And the prompt part multiplies to the prompt's pool frequency (1/4).
    t.true(close(Math.exp(logMu.slice(4, 7).reduce((s, v) => s + v, 0)), 1 / 4));
  }
});

test('α = 0: the behaviour is π_old exactly, for probes and originals', (t) => {
  const forProbe = computeBehaviourLogps({ ...probe, alpha: 0, errorRate: 0.3 });
  t.deepEqual(forProbe.behaviourLogps, probe.oldLogps);
  t.true(forProbe.isWeights.every((w) => w === 1));
  const original = { oldLogps: [-0.2, -4, -1], components: [M, I, M], isProbe: false, probePromptStart: null };
  const forOriginal = computeBehaviourLogps({ ...original, alpha: 0, errorRate: 0.3 });
  t.deepEqual(forOriginal.behaviourLogps, original.oldLogps);
  t.deepEqual(forOriginal.mu, [0, 0, 0]);
});

test('§4.3 at θ = θ_old with α = 0.106: originals 1/(1−α) ≈ 1.12, prefix slightly below 1, prompt ≈ π_old/α, continuation 1', (t) => {
  const alpha = 0.106;
  const original = computeBehaviourLogps({
    oldLogps: [-0.7, -2.3, -5, -0.01],
    components: [M, M, I, M],
    isProbe: false,
    probePromptStart: null,
    alpha,
    errorRate: 0.6,
  });
  for (const i of [0, 1, 3]) t.true(close(original.isWeights[i]!, 1 / (1 - alpha)), `ω = ${original.isWeights[i]}`);
  t.true(Math.abs(original.isWeights[0]! - 1.12) < 0.005);
  t.is(original.isWeights[2], 1, 'masked token');
  // Clip thresholds quoted in §4.3: 1.2(1−α) ≈ 1.07 and 0.8(1−α) ≈ 0.72.
  t.true(Math.abs(1.2 * (1 - alpha) - 1.07) < 0.005 && Math.abs(0.8 * (1 - alpha) - 0.72) < 0.005);

  // A probe with a 50-token prefix, a 3-token prompt with π_old = 1e-4 each, then 5 continuation tokens.
  const L = 50;
  const z = 0.6;
  const oldLogps = [...Array(L).fill(-0.4), ...Array(3).fill(Math.log(1e-4)), ...Array(5).fill(-0.9)];
  const components = [...Array(L).fill(M), P, P, P, ...Array(5).fill(M)];
  const result = computeBehaviourLogps({
    oldLogps, components, isProbe: true, probePromptStart: L, promptConditionals: [1, 1, 1], alpha, errorRate: z,
  });
  const prefixWeight = 1 / ((1 - alpha) + alpha * z ** (-1 / L));
  t.true(close(result.isWeights[0]!, prefixWeight));
  t.true(prefixWeight < 1 && prefixWeight > 0.99, `prefix ω = ${prefixWeight}`);
  for (let k = 0; k < 3; k++) {
    const w = result.isWeights[L + k]!;
    t.true(Math.abs(w / (1e-4 / alpha) - 1) < 1e-3, `prompt ω = ${w} ≈ π_old/α = ${1e-4 / alpha}`);
    t.true(w < 0.8, 'below the clip range: A < 0 gets no gradient there');
  }
  for (let k = L + 3; k < L + 8; k++) t.true(close(result.isWeights[k]!, 1, 1e-12), `continuation ω = ${result.isWeights[k]}`);
});

test('z = 0 (every original correct): z is clamped to minErrorRate, everything stays finite', (t) => {
  const result = computeBehaviourLogps({ ...probe, alpha: 0.1, errorRate: 0 });
  t.true(result.errorRateClamped);
  t.is(result.errorRate, 1e-3);
  t.true(result.behaviourLogps.every(Number.isFinite));
  t.true(result.isWeights.every((w) => Number.isFinite(w) && w > 0));
  t.true(close(result.logMu[0]!, probe.oldLogps[0]! - Math.log(1e-3) / 4));
  const custom = computeBehaviourLogps({ ...probe, alpha: 0.1, errorRate: 0.01 }, { minErrorRate: 0.05 });
  t.is(custom.errorRate, 0.05);
  t.true(custom.errorRateClamped);
  const unclamped = computeBehaviourLogps({ ...probe, alpha: 0.1, errorRate: 0.2 }, { minErrorRate: 0.05 });
  t.false(unclamped.errorRateClamped);
});

test('a probe whose prompt starts the response (L = 0) has no prefix term', (t) => {
  const result = computeBehaviourLogps({
    oldLogps: [-5, -6, -0.5], components: [P, P, M], isProbe: true, probePromptStart: 0,
    promptConditionals: [1, 0.5], alpha: 0.25, errorRate: 0,
  });
  t.deepEqual(result.mu.slice(0, 2), [1, 0.5]);
  t.true(close(result.behaviourLogps[1]!, Math.log(0.75 * Math.exp(-6) + 0.25 * 0.5)));
  t.true(close(result.behaviourLogps[2]!, -0.5));
});

test('μ = 0 and the coarse-PPD values (1/30 on the first prompt token, 1 after) are accepted', (t) => {
  const zero = computeBehaviourLogps({ ...probe, promptConditionals: [1, 0, 1 / 3], alpha: 0.3, errorRate: 0.5 });
  t.is(zero.mu[5], 0);
  t.is(zero.logMu[5], -Infinity);
  t.true(close(zero.behaviourLogps[5]!, Math.log(0.7) + probe.oldLogps[5]!));
  t.true(close(zero.isWeights[5]!, 1 / 0.7));
  const coarse = computeBehaviourLogps({ ...probe, promptConditionals: [1 / 30, 1, 1], alpha: 0.3, errorRate: 0.5 });
  t.true(close(coarse.mu[4]!, 1 / 30));
  t.deepEqual(coarse.mu.slice(5, 7), [1, 1]);
});

test('log-space: log-probs far below exp underflow stay exact', (t) => {
  const alpha = 0.1;
  const original = computeBehaviourLogps({
    oldLogps: [-800, -1200], components: [M, M], isProbe: false, probePromptStart: null, alpha, errorRate: 0.5,
  });
  t.true(close(original.behaviourLogps[0]!, -800 + Math.log(0.9)));
  t.true(close(original.isWeights[1]!, 1 / 0.9));
  const spliced = computeBehaviourLogps({
    oldLogps: [-800, -900, -750], components: [M, P, M], isProbe: true, probePromptStart: 1,
    promptConditionals: [1], alpha, errorRate: 0.5,
  });
  // Prefix: log β = −800 + log(0.9 + 0.1·2) (L = 1); prompt: log(0.1·1) (π_old is 0 in floating point).
  t.true(close(spliced.behaviourLogps[0]!, -800 + Math.log(0.9 + 0.1 / 0.5)));
  t.true(close(spliced.behaviourLogps[1]!, Math.log(0.1)));
  t.is(spliced.isWeights[1], 0);
  t.true(close(spliced.behaviourLogps[2]!, -750, 1e-12));
  t.is(logAddExp(-Infinity, -3), -3);
  t.is(logAddExp(-Infinity, -Infinity), -Infinity);
  t.true(close(logAddExp(Math.log(0.25), Math.log(0.5)), Math.log(0.75)));
});

test('inconsistent inputs are refused with the argument named', (t) => {
  const base = { ...probe, alpha: 0.1, errorRate: 0.5 };
  t.throws(() => computeBehaviourLogps({ ...base, components: probe.components.slice(1) }), { instanceOf: RangeError, message: /components has 8/ });
  t.throws(() => computeBehaviourLogps({ ...base, probePromptStart: null }), { instanceOf: RangeError, message: /probePromptStart is required/ });
  t.throws(() => computeBehaviourLogps({ ...base, probePromptStart: 3 }), { instanceOf: RangeError, message: /components\[3\] should be a probe-prompt/ });
  t.throws(() => computeBehaviourLogps({ ...base, promptConditionals: [1, 0.5] }), { instanceOf: RangeError, message: /components\[6\] is a probe-prompt token outside/ });
  t.throws(() => computeBehaviourLogps({ ...base, promptConditionals: [] }), { instanceOf: RangeError, message: /every spliced prompt token/ });
  t.throws(() => computeBehaviourLogps({ ...base, promptConditionals: [1, 1.5, 1] }), { instanceOf: RangeError, message: /promptConditionals\[1\]/ });
  t.throws(() => computeBehaviourLogps({ ...base, alpha: 1 }), { instanceOf: RangeError, message: /alpha must be < 1/ });
  t.throws(() => computeBehaviourLogps({ ...base, alpha: -0.1 }), { instanceOf: RangeError, message: /alpha/ });
  t.throws(() => computeBehaviourLogps({ ...base, errorRate: 1.5 }), { instanceOf: RangeError, message: /errorRate/ });
  t.throws(() => computeBehaviourLogps({ ...base, oldLogps: [...probe.oldLogps.slice(0, 8), Infinity] }), { instanceOf: RangeError, message: /oldLogps\[8\]/ });
  t.throws(() => computeBehaviourLogps({ ...base, oldLogps: [...probe.oldLogps.slice(0, 8), NaN] }), { instanceOf: TypeError, message: /oldLogps\[8\]/ });
  t.throws(() => computeBehaviourLogps({ ...base, components: [...probe.components.slice(0, 8), 9] }), { instanceOf: RangeError, message: /components\[8\]/ });
  t.throws(() => computeBehaviourLogps({ ...base, isProbe: false }), { instanceOf: RangeError, message: /probePromptStart must be null/ });
  t.throws(
    () => computeBehaviourLogps({ oldLogps: [-1, -1], components: [M, P], isProbe: false, probePromptStart: null, alpha: 0.1, errorRate: 0.5 }),
    { instanceOf: RangeError, message: /components\[1\] is a probe-prompt token in an original/ },
  );
  t.throws(() => computeBehaviourLogps({ ...base }, { minErrorRate: 0 }), { instanceOf: RangeError, message: /minErrorRate/ });
  // Typed arrays are accepted.
  const typed = computeBehaviourLogps({ ...base, oldLogps: Float32Array.from(probe.oldLogps), components: Int32Array.from(probe.components) });
  t.is(typed.behaviourLogps.length, 9);
});

test('batchMixture: α = kept probes/(originals + kept probes), z = 1 − original accuracy', (t) => {
  const rows = [
    ...[1, 0, 0, 1, 0, 0, 1, 0].map((reward) => ({ isProbe: false, reward })),
    { isProbe: true, reward: 1 },
    { isProbe: true, reward: 1 },
  ];
  t.deepEqual(batchMixture(rows), { alpha: 0.2, errorRate: 5 / 8, originalAccuracy: 3 / 8, originals: 8, probes: 2 });
  // Empty probe set: α = 0.
  t.deepEqual(batchMixture(rows.slice(0, 8)), { alpha: 0, errorRate: 5 / 8, originalAccuracy: 3 / 8, originals: 8, probes: 0 });
  // All originals correct: z = 0 (probePolicy clamps it).
  t.is(batchMixture([{ isProbe: false, reward: 1 }, { isProbe: true, reward: 0 }]).errorRate, 0);
  // Partial rewards below the threshold count as wrong; a custom threshold.
  t.is(batchMixture([{ isProbe: false, reward: 0.99 }, { isProbe: false, reward: 1.2 }]).errorRate, 0.5);
  t.is(batchMixture([{ isProbe: false, reward: 0.5 }], { correctThreshold: 0.5 }).errorRate, 0);
  // The doc's batch: 2560 originals, 304 kept probes.
  const big = batchMixture([...Array(2560).fill({ isProbe: false, reward: 0 }), ...Array(304).fill({ isProbe: true, reward: 0 })]);
  t.true(Math.abs(big.alpha - 0.106) < 0.001, `α = ${big.alpha}`);
  t.throws(() => batchMixture([{ isProbe: true, reward: 1 }]), { instanceOf: RangeError, message: /at least one original/ });
  t.throws(() => batchMixture([]), { instanceOf: RangeError });
  t.throws(() => batchMixture([{ isProbe: 'no', reward: 1 } as never]), { instanceOf: TypeError, message: /rows\[0\].isProbe/ });
});
