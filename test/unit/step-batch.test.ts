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

test('REX-RAG batch: filter, mixture, behaviour log-probs, group advantages and the next keep ratio', (t) => {
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
