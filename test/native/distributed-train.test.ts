// `rexrag train` data parallel end to end on a tiny model: 2 ranks × 1 thread (through --nproc) end with the
// parameters and per-step metrics of one process training on the same global batches; killing a rank mid-run
// makes the other fail with a named error, leaves the last checkpoint valid, and resuming reaches the
// uninterrupted run's parameters; resuming with another number of ranks is refused, and so are ranks started
// with different settings.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { loadPolicy } from '../../lib/model/load-policy.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { native } from '../../lib/native.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { latestCheckpoint, validateCheckpoint } from '../../lib/train/checkpoint.js';
import { cliPath } from '../helpers/paths.js';
import { runCli } from '../helpers/run-cli.js';
import { runRanks } from '../helpers/ranks.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-dp-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const hasC10d = native().distributedInfo().c10d;
const questions = ['Paris', 'Nile', 'Hamlet', 'Rome', 'Oslo', 'Lima'].map((gold, i) => ({ id: `q${i}`, question: `Which one is ${gold}?`, golden_answers: [gold] }));

test.before(async () => {
  await writeTinyModel(join(root, 'tiny'), { seed: 4 });
  writeFileSync(join(root, 'corpus.jsonl'), questions.map((q, i) => JSON.stringify({ id: String(i), contents: `"${q.golden_answers[0]}"\n${q.golden_answers[0]} is a name.` })).join('\n'));
  writeFileSync(join(root, 'train.jsonl'), questions.map((q) => JSON.stringify(q)).join('\n'));
  await buildIndex({ corpus: join(root, 'corpus.jsonl'), out: join(root, 'index') });
  // A short warm-up that always answers "Paris": wrong on most questions, so REX-RAG probes.
  writeFileSync(join(root, 'demos.jsonl'), questions.map((q) => JSON.stringify({ question: q.question, segments: [{ kind: 'model', text: '<answer> Paris </answer>' }] })).join('\n'));
  const warm = await runCli(['sft', '--model', join(root, 'tiny'), '--data', join(root, 'demos.jsonl'), '--out', join(root, 'warm'),
    '--epochs', '25', '--batch-size', '6', '--lr', '3e-3', '--schedule', 'constant']);
  if (warm.code !== 0) throw new Error(warm.stderr);
});

/** `rexrag train` arguments of a 3-step REX-RAG run; `cohorts` per rank. AdamW eps: see distributed-batch.ts. */
function trainArgs(out: string, cohorts: number): string[] {
  return ['train', '--model', join(root, 'warm', 'model'), '--index', join(root, 'index'), '--train', join(root, 'train.jsonl'), '--out', out,
    ...['algorithm=rex-rag', 'steps=3', 'questionsPerStep=4', 'groupSize=2', 'seed=5', 'rollout.maxTurns=1', 'rollout.maxResponseTokensPerTurn=6',
      `rollout.cohorts=${cohorts}`, 'rex.probeProbability=1', 'rex.keepRatio=0.25', 'rex.budgetMultiple=1', 'trainer.step.miniBatchSize=3', 'trainer.optimizer.lr=1e-2',
      'trainer.optimizer.eps=1e-3', 'trainer.loss.klCoef=0.01', 'checkpoint.every=1', 'eval.every=0'].flatMap((s) => ['--set', s])];
}

function metricLines(out: string): Record<string, number>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)).filter((line) => 'train/loss' in line);
}

async function parameters(folder: string): Promise<Map<string, Float32Array>> {
  const policy = await loadPolicy(folder);
  const out = new Map(policy.parameters().map(({ name }) => [name, policy.parameterValues(name)]));
  policy.dispose();
  return out;
}

function largestRelativeDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, want] of b) {
    const got = a.get(name)!;
    let diff = 0;
    let scale = 1e-12;
    want.forEach((w, i) => {
      diff = Math.max(diff, Math.abs(got[i]! - w));
      scale = Math.max(scale, Math.abs(w));
    });
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const single = join(root, 'single');
const parallel = join(root, 'parallel');

test.serial('rexrag train --nproc 2 ends where one process ends, with the same per-step metrics', async (t) => {
  if (!hasC10d) return t.pass();
  const one = await runCli(trainArgs(single, 2), { env: { REXRAG_NUM_THREADS: '1' } });
  t.is(one.code, 0, one.stderr);
  const two = await runCli([...trainArgs(parallel, 1), '--nproc', '2'], { env: { REXRAG_NUM_THREADS: '1' } });
  t.is(two.code, 0, two.stderr);
  t.regex(two.stderr, /\[rank 1\] step 3: reward/, 'rank 1 reports, prefixed');
  t.is(JSON.parse(two.stdout).worldSize, 2);
  const worst = largestRelativeDifference(await parameters(join(parallel, 'model')), await parameters(join(single, 'model')));
  t.true(worst <= 1e-5, `largest relative parameter difference ${worst}`);
  const [want, got] = [metricLines(single), metricLines(parallel)];
  t.is(got.length, 3);
  t.true(want.some((line) => line['probe/kept']! > 0 && line['probe/dropped']! > 0), 'the filter kept some probes and dropped others');
  for (const [step, line] of want.entries()) {
    t.deepEqual(Object.keys(got[step]!).sort(), Object.keys(line).sort());
    for (const [name, value] of Object.entries(line)) {
      if (name.startsWith('time/') || name === 'wall_time') continue;
      // Values computed from log-probs differ by float rounding (each rank scores its own rows); counts, rewards,
      // the probe selection and α, z, ρ are exact.
      const continuous = (name.startsWith('train/') && name !== 'train/tokens' && name !== 'train/skipped_updates') || name.startsWith('probe/score_');
      if (continuous) {
        t.true(Math.abs(got[step]![name]! - value) <= 1e-5 * Math.max(1, Math.abs(value)), `step ${step + 1} ${name}: ${got[step]![name]} vs ${value}`);
      } else {
        t.is(got[step]![name], value, `step ${step + 1} ${name}`);
      }
    }
  }
});

test.serial('killing a rank mid-run fails the other with a named error; the last checkpoint stays valid and resumes exactly', async (t) => {
  if (!hasC10d) return t.pass();
  const out = join(root, 'killed');
  const args = [cliPath, ...trainArgs(out, 1), '--dist-timeout', '60'];
  const results = await runRanks(2, args, {}, (children) => {
    let seen = '';
    children[0]!.stderr!.on('data', (chunk) => {
      seen += chunk;
      if (/checkpoint /.test(seen) && children[1]!.exitCode === null) children[1]!.kill('SIGKILL');
    });
  });
  t.is(results[1]!.signal, 'SIGKILL');
  t.is(results[0]!.code, 1, results[0]!.stderr);
  t.regex(results[0]!.stderr, /another rank probably stopped/);
  const latest = await latestCheckpoint(join(out, 'checkpoints'));
  t.truthy(latest);
  const state = await validateCheckpoint(latest!);
  t.true(state.step >= 1 && state.step < 3, `the last checkpoint is of step ${state.step}`);

  const resumed = await runRanks(2, [...args, '--resume']);
  resumed.forEach((r) => t.is(r.code, 0, r.stderr));
  const worst = largestRelativeDifference(await parameters(join(out, 'model')), await parameters(join(parallel, 'model')));
  t.is(worst, 0, 'the resumed run ends exactly where the uninterrupted 2-rank run ends');
  t.is(metricLines(out).length, 3, 'one metrics line per step');
});

test.serial('resuming with another number of ranks is refused unless resharded', async (t) => {
  if (!hasC10d) return t.pass();
  const refused = await runCli([...trainArgs(parallel, 2), '--resume', '--set', 'steps=4']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /written by a run of 2 rank\(s\) but this run has 1.*--reshard/);
  const resharded = await runCli([...trainArgs(parallel, 2), '--resume', '--reshard', '--set', 'steps=4']);
  t.is(resharded.code, 0, resharded.stderr);
  t.is(metricLines(parallel).length, 4);
});

test.serial('ranks started with different settings refuse to train, naming the rank', async (t) => {
  if (!hasC10d) return t.pass();
  const out = join(root, 'disagree');
  const results = await runRanks(2, (rank) => [cliPath, ...trainArgs(out, 1), '--set', `seed=${5 + rank}`]);
  for (const result of results) {
    t.is(result.code, 1);
    t.regex(result.stderr, /data-parallel ranks disagree: rank 1 has a different run configuration than rank 0/);
  }
});

test.serial('the backend can be named; NCCL on a build without it and an unknown backend are refused', async (t) => {
  if (!hasC10d) return t.pass();
  const out = join(root, 'backend');
  const unknown = await runCli([...trainArgs(out, 1), '--dist-backend', 'mpi']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /--dist-backend must be auto, gloo or nccl, got "mpi"/);
  if (native().distributedInfo().nccl) return;
  const [nccl] = await runRanks(1, [cliPath, ...trainArgs(out, 1), '--dist-backend', 'nccl']);
  t.is(nccl!.code, 1);
  t.regex(nccl!.stderr, /backend "nccl" needs a CUDA libtorch built with NCCL/);
});
