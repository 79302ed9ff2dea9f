// c10d process groups across real processes on 127.0.0.1: the collectives give every rank the right values, and
// a data-parallel GRPO step over 2 ranks (each with half the rows, different starting weights) ends with the
// parameters and metrics of one process stepping on the whole batch, mini-batches and shuffle included.
import { join } from 'node:path';

import test from 'ava';

import { Policy } from '../../lib/model/policy.js';
import { native } from '../../lib/native.js';
import { isRexragError } from '../../lib/errors.js';
import { GrpoTrainer, type StepMetrics } from '../../lib/train/grpo-trainer.js';
import { fixedBatch, STEP_OPTIONS, tinyConfig, trainerOptions } from '../helpers/distributed-batch.js';
import { packageRoot } from '../helpers/paths.js';
import { runRanks } from '../helpers/ranks.js';

const rankScript = join(packageRoot, 'dist', 'test', 'helpers', 'distributed-rank.js');
const hasC10d = native().distributedInfo().c10d;

/** max |a − b| over max |b| (the scale of the parameter). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

test('this build has c10d with Gloo', (t) => {
  t.true(hasC10d, 'libgloo-dev was missing when the addon was built: npm run bootstrap installs it');
});

test('two ranks all-reduce, all-gather and meet at a barrier', async (t) => {
  if (!hasC10d) return t.pass();
  const results = await runRanks(2, [rankScript, 'collectives']);
  results.forEach((r) => t.is(r.code, 0, r.stderr));
  const outputs = results.map((r) => JSON.parse(r.stdout));
  for (const [rank, out] of outputs.entries()) {
    t.is(out.rank, rank);
    t.is(out.worldSize, 2);
    t.is(out.backend, 'gloo');
    t.deepEqual(out.sum, [3, 30]);
    t.deepEqual(out.max, [1, 0]);
    t.deepEqual(out.gathered, [[0, 0.5], [1, 2.5]]);
    t.deepEqual(out.json, [{ rank: 0, text: '' }, { rank: 1, text: 'xxx' }]);
  }
});

test('a rank whose peers never come fails the rendezvous after the timeout, saying what to check', async (t) => {
  if (!hasC10d) return t.pass();
  const [alone] = await runRanks(1, [rankScript, 'collectives'], { WORLD_SIZE: '2', TEST_TIMEOUT: '2' });
  t.not(alone!.code, 0);
  t.regex(alone!.stderr, /ERR_DISTRIBUTED/);
  t.regex(alone!.stderr, /rank 0 of 2: rendezvous at 127\.0\.0\.1:\d+ failed: .*every one of the 2 ranks must start within 2 s/);
});

test('a 2-rank data-parallel GRPO step equals one process on the whole batch (3 steps, 2 mini-batches each)', async (t) => {
  if (!hasC10d) return t.pass();
  const results = await runRanks(2, [rankScript, 'trainer']);
  results.forEach((r) => t.is(r.code, 0, r.stderr));
  const ranks = results.map((r) => JSON.parse(r.stdout) as { metrics: StepMetrics[]; parameters: Record<string, number[]> });

  const policy = await Policy.random(tinyConfig, { seed: 5 });
  const trainer = await GrpoTrainer.create(policy, trainerOptions);
  const single: StepMetrics[] = [];
  for (let step = 0; step < 3; step++) single.push(await trainer.step(fixedBatch(), { ...STEP_OPTIONS, seed: step }));
  let worst = 0;
  for (const { name } of policy.parameters()) {
    const expected = policy.parameterValues(name);
    t.deepEqual(ranks[1]!.parameters[name], ranks[0]!.parameters[name], `${name}: the ranks agree exactly`);
    worst = Math.max(worst, relativeDifference(ranks[0]!.parameters[name]!, expected));
  }
  t.true(worst <= 1e-5, `largest relative parameter difference ${worst}`);
  for (let step = 0; step < 3; step++) {
    const got = ranks[0]!.metrics[step]!;
    const want = single[step]!;
    t.is(got['train/updates'], 2, 'two mini-batches of the 7 global rows');
    for (const name of ['train/updates', 'train/skipped_updates', 'train/tokens', 'train/original/tokens', 'train/probe_continuation/tokens'] as const) {
      t.is(got[name], want[name], `step ${step + 1} ${name}`);
    }
    for (const name of ['train/loss', 'train/pg_loss', 'train/kl', 'train/entropy', 'train/grad_norm', 'train/ratio_max', 'train/original/ratio_min', 'train/probe_continuation/approx_kl'] as const) {
      t.true(Math.abs(got[name]! - want[name]!) <= 1e-5 * Math.max(1, Math.abs(want[name]!)), `step ${step + 1} ${name}: ${got[name]} vs ${want[name]}`);
    }
  }
  trainer.dispose();
  policy.dispose();
});

test('a rank share of a batch needs a process group', async (t) => {
  const policy = await Policy.random(tinyConfig, { seed: 5 });
  const trainer = await GrpoTrainer.create(policy, trainerOptions);
  const batch = fixedBatch();
  const error = await t.throwsAsync(trainer.step({ ...batch, globalIndex: batch.ids.map((_, k) => k), globalRows: batch.ids.length }));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
  t.regex(error!.message, /process group/);
  trainer.dispose();
  policy.dispose();
});
