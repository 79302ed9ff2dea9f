// One REX-RAG step's bookkeeping on hand-made trajectories: probes are filtered within the budget, the kept probe
// joins its question's group, α and z follow the trained batch, originals get log((1 − α)·π_old), the probe's
// spliced prompt gets the trie density, and the keep ratio moves by the EWM rule.
import test from 'ava';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { COMPONENT } from '../../lib/algo/components.js';
import type { Trajectory } from '../../lib/rollout/rollout-types.js';
import { createAlgorithm } from '../../lib/train/algorithms/index.js';
import { buildStepData } from '../../lib/train/step-batch.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';

const tokenizer = new CharTokenizer();
const prompts = ['<think> ab', '<think> ac'];
const M = COMPONENT.model;
const P = COMPONENT['probe-prompt'];

function trajectory(rowId: number, groupId: string, extra: Partial<Trajectory> = {}): Trajectory {
  const responseTokens = extra.responseTokens ?? [97, 98, 99];
  const components = extra.components ?? responseTokens.map(() => M);
  return {
    rowId, questionId: groupId, groupId, golds: ['x'], promptTokens: [1, 2], responseTokens, components,
    lossMask: components.map((c) => (c === M || c === P ? 1 : 0)), sampledLogprobs: responseTokens.map(() => -1),
    modelLogprobs: responseTokens.map(() => -1), responseText: '', turns: 1, searches: [], answer: null,
    finishReason: 'answer', isProbe: false, probeOf: null, probePromptStart: null, ...extra,
  };
}

/** Two questions × two originals, one probe each: q1's probe (prompt A, likelier) is right, q2's is wrong. */
function rexStep() {
  const promptA = tokenizer.encode(prompts[0]!);
  const promptB = tokenizer.encode(prompts[1]!);
  const probe = (rowId: number, of: number, group: string, prompt: number[]) => trajectory(rowId, group, {
    isProbe: true, probeOf: of, probePromptStart: 2,
    responseTokens: [97, 98, ...prompt, 100], components: [M, M, ...prompt.map(() => P), M],
  });
  const trajectories = [
    trajectory(0, 'q1'), trajectory(1, 'q1'), trajectory(2, 'q2'), trajectory(3, 'q2'),
    probe(4, 0, 'q1', promptA), probe(5, 2, 'q2', promptB),
  ];
  const rewards = [0, 1, 0, 0, 1, 0];
  // π_old: the probe on q1 finds its prompt more likely (−0.5 per prompt token vs −3).
  const oldLogps = trajectories.map((tr) => tr.responseTokens.map((_, k) => (tr.components[k] === P ? (tr.rowId === 4 ? -0.5 : -3) : -1)));
  return { trajectories, rewards, oldLogps };
}

test('REX-RAG batch: filter, mixture, behaviour log-probs, group advantages and the next keep ratio', (t) => {
  const { trajectories, rewards, oldLogps } = rexStep();
  const config = rlConfigSchema.parse({ algorithm: 'rex-rag', groupSize: 2, rex: { keepRatio: 0.25, promptPool: prompts } });
  const algorithm = createAlgorithm(config, tokenizer);
  const data = buildStepData({ trajectories, rewards, oldLogps, questionsPerStep: 2, groupSize: 2 }, algorithm);

  t.is(data.metrics['probe/budget'], 1, 'floor(2 questions × 2 rollouts × 0.25)');
  t.deepEqual(data.trained.map((tr) => tr.rowId), [0, 1, 2, 3, 4], 'the higher-scoring probe is kept');
  const alpha = 1 / 5;
  const z = 1 - 1 / 4;
  t.true(Math.abs(data.metrics['is/alpha']! - alpha) < 1e-12);
  t.true(Math.abs(data.metrics['is/z']! - z) < 1e-12);
  // Originals: β = (1 − α)·π_old (behaviour rows include the masked prompt positions first).
  t.true(Math.abs(data.batch.behaviourLogps![0]![2]! - (Math.log(1 - alpha) - 1)) < 1e-12);
  // The probe's first prompt token: μ = 1, β = (1 − α)·π_old + α.
  const first = data.batch.behaviourLogps![4]![2 + 2]!;
  t.true(Math.abs(first - Math.log((1 - alpha) * Math.exp(-0.5) + alpha)) < 1e-12);
  // Its prefix tokens: μ = π_old / z^{1/L} with L = 2.
  const prefix = data.batch.behaviourLogps![4]![2]!;
  t.true(Math.abs(prefix - Math.log((1 - alpha) * Math.exp(-1) + alpha * Math.exp(-1) / Math.pow(z, 1 / 2))) < 1e-12);
  // Group q1 = {0, 1, probe 4} with rewards [0, 1, 1]: sample std over three.
  const mean = 2 / 3;
  const std = Math.sqrt(((0 - mean) ** 2 + 2 * (1 - mean) ** 2) / 2);
  t.true(Math.abs((data.batch.advantages[4] as number) - (1 - mean) / (std + 1e-6)) < 1e-9);
  t.is(data.metrics['deadend/rate'], 0.5, 'q2 failed entirely among the originals');
  t.is(data.metrics['deadend/after_probes'], 0.5);
  t.true(Math.abs(algorithm.state().rho - (0.9 * 0.25 + 0.1 * 1)) < 1e-12, 'the kept probe was correct');
  t.deepEqual(data.batch.lossMask[4], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, data.batch.ids[4]!.length));
});

test('GRPO batch: no probes, behaviour = π_old, keep ratio unchanged', (t) => {
  const trajectories = [trajectory(0, 'q1'), trajectory(1, 'q1')];
  const config = rlConfigSchema.parse({ algorithm: 'grpo', groupSize: 2 });
  const algorithm = createAlgorithm(config, tokenizer);
  const data = buildStepData({ trajectories, rewards: [1, 0], oldLogps: [[-1, -2, -3], [-1, -1, -1]], questionsPerStep: 1, groupSize: 2 }, algorithm);
  t.deepEqual(data.batch.behaviourLogps![0], [0, 0, -1, -2, -3]);
  t.is(data.metrics['is/alpha'], 0);
  t.is(algorithm.state().rho, 0.12);
  t.deepEqual(data.batch.advantages.map((a) => Math.sign(a as number)), [1, -1]);
});

/** The REX step of rexStep() under a rex config section. */
function rexData(rex: Record<string, unknown>) {
  const { trajectories, rewards, oldLogps } = rexStep();
  const config = rlConfigSchema.parse({ algorithm: 'rex-rag', groupSize: 2, rex: { keepRatio: 0.25, promptPool: prompts, ...rex } });
  const algorithm = createAlgorithm(config, tokenizer);
  return { data: buildStepData({ trajectories, rewards, oldLogps, questionsPerStep: 2, groupSize: 2 }, algorithm), oldLogps, algorithm };
}

test('ablation correction=none: every behaviour log-prob is π_old; selection and advantages unchanged', (t) => {
  const mixture = rexData({});
  const { data, oldLogps } = rexData({ correction: 'none' });
  t.deepEqual(data.trained.map((tr) => tr.rowId), mixture.data.trained.map((tr) => tr.rowId));
  data.trained.forEach((tr, k) => t.deepEqual(Array.from(data.batch.behaviourLogps![k]!).slice(2), Array.from(oldLogps[tr.rowId]!)));
  t.deepEqual(data.batch.advantages, mixture.data.batch.advantages);
  t.is(data.metrics['is/alpha'], mixture.data.metrics['is/alpha']);
});

test('ablation correction=coarse: the prompt gets 1/N on its first token and 1 after; all else as the mixture', (t) => {
  const mixture = rexData({});
  const { data } = rexData({ correction: 'coarse' });
  const alpha = data.metrics['is/alpha']!;
  const probe = data.batch.behaviourLogps![4]!;
  const reference = mixture.data.batch.behaviourLogps![4]!;
  // Response layout of probe 4: two prefix tokens, the prompt (components 5), one continuation token.
  const promptLength = tokenizer.encode(prompts[0]!).length;
  const promptStart = 2 + 2;
  t.true(Math.abs(probe[promptStart]! - Math.log((1 - alpha) * Math.exp(-0.5) + alpha / 2)) < 1e-12, '1/N with N = 2 prompts');
  for (let k = 1; k < promptLength; k++) {
    t.true(Math.abs(probe[promptStart + k]! - Math.log((1 - alpha) * Math.exp(-0.5) + alpha)) < 1e-12, `prompt token ${k}: μ = 1`);
  }
  for (const k of [2, 3, promptStart + promptLength]) t.is(probe[k], reference[k], `position ${k} as the mixture`);
  t.deepEqual(data.batch.behaviourLogps!.slice(0, 4), mixture.data.batch.behaviourLogps!.slice(0, 4), 'originals as the mixture');
});

test('ablation filter=false keeps every probe; α counts them all and the budget is the supply', (t) => {
  const { data } = rexData({ filter: false });
  t.deepEqual(data.trained.map((tr) => tr.rowId), [0, 1, 2, 3, 4, 5]);
  t.is(data.metrics['probe/budget'], 2);
  t.true(Math.abs(data.metrics['is/alpha']! - 2 / 6) < 1e-12);
  t.is(data.metrics['probe/dropped'], 0);
});

test('ablation poolSize: the trie holds the first N prompts; a larger N than the pool is refused', (t) => {
  const { algorithm } = rexData({ poolSize: 1 });
  // One prompt left: the trie density of its tokens is 1 everywhere (the choice among prompts is gone).
  const { data } = rexData({ poolSize: 1, filter: true });
  t.is(data.trained.length, 5);
  t.true(algorithm.name === 'rex-rag');
  const alpha = data.metrics['is/alpha']!;
  t.true(Math.abs(data.batch.behaviourLogps![4]![5]! - Math.log((1 - alpha) * Math.exp(-0.5) + alpha)) < 1e-12);
  t.throws(() => rexData({ poolSize: 3 }), { message: /rex.poolSize \(3\) is larger than the prompt pool \(2 prompts\)/ });
});

test('diagnostics: filter scores of kept and dropped probes, rescued groups, prompts drawn and correct; ρ in use is logged', (t) => {
  const { data } = rexData({});
  t.is(data.metrics['probe/score_kept_mean'], -0.5);
  t.is(data.metrics['probe/score_dropped_mean'], -3);
  t.is(data.metrics['probe/rescued_groups'], 0, "q1's originals already had a correct answer");
  t.is(data.metrics['probe/prompt/0/drawn'], 1);
  t.is(data.metrics['probe/prompt/0/correct'], 1);
  t.is(data.metrics['probe/prompt/1/drawn'], 1);
  t.is(data.metrics['probe/prompt/1/correct'], 0);
  const capped = rexData({ keepRatio: 0.25, capKeepRatio: true });
  capped.algorithm.advance([1]);
  const next = buildStepData({ ...rexStep(), questionsPerStep: 2, groupSize: 2 }, capped.algorithm);
  t.is(next.metrics['probe/rho'], 0.25, 'the capped ratio actually used, not the EWM state');
  t.true(capped.algorithm.state().rho > 0.25);
});

test('ablation correction=sequence: the mixture densities, with one ratio per probe row', (t) => {
  const mixture = rexData({});
  const { data } = rexData({ correction: 'sequence' });
  t.deepEqual(data.batch.behaviourLogps, mixture.data.batch.behaviourLogps);
  t.deepEqual(data.batch.sequenceRatio, [false, false, false, false, true], 'only the kept probe');
  t.is(mixture.data.batch.sequenceRatio, undefined);
});
