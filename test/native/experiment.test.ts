// `rexrag experiment` at test scale: two seeds end to end, aggregated per method with paired differences, a
// rerun that adds a method (keeping the warm start and finished methods) and one with nothing left to do. The
// aggregation is checked on known values.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { aggregateExperiment, meanInterval, type ExperimentResult, type SeedOutcome } from '../../lib/lab/experiment.js';
import type { LabEvalRow } from '../../lib/lab/lab-eval.js';
import { runCli } from '../helpers/run-cli.js';

test('meanInterval uses Student t; aggregateExperiment pairs methods with GRPO by seed', (t) => {
  const m = meanInterval([0.4, 0.6]);
  t.is(m.mean, 0.5);
  t.true(Math.abs(m.high - (0.5 + 12.706 * (Math.SQRT2 * 0.1) / Math.SQRT2)) < 1e-9);
  t.deepEqual(meanInterval([0.3]), { mean: 0.3, low: 0.3, high: 0.3, n: 1 });
  t.throws(() => meanInterval([]), { message: /at least one/ });
  const row = (method: string, em: number) => ({ method, step: 10, split: 'test', hops: 'multi', em, emLow: 0, emHigh: 1, samples: 200, greedyEm: 0, allWrong: 0, searches: 2 }) as LabEvalRow;
  const step = (step: number, dead: number, generated: number, accuracy: number, tokens: number) =>
    ({ step, 'reward/mean': 0.5, 'deadend/rate': dead, 'probe/generated': generated, 'probe/generated_accuracy': accuracy, 'probe/kept': 1, 'probe/kept_accuracy': 1, 'rollout/generated_tokens': tokens });
  const outcome = (seed: number, grpo: number, rex: number): SeedOutcome => ({
    seed,
    rows: [row('grpo', grpo), row('rex-rag', rex)],
    steps: { grpo: [step(1, 0.5, 0, 0, 100), step(2, 0.3, 0, 0, 100)], 'rex-rag': [step(1, 0.5, 4, 0.5, 150), step(2, 0.1, 2, 0, 120)] },
    trainSeconds: { grpo: 10, 'rex-rag': 12 },
  });
  const result = aggregateExperiment('default', ['grpo', 'rex-rag'], [outcome(2, 0.7, 0.8), outcome(1, 0.5, 0.6)]);
  t.deepEqual(result.seeds, [1, 2]);
  t.is(result.differences.length, 1, 'GRPO has no difference to itself');
  const d = result.differences[0]!;
  t.is(d.method, 'rex-rag');
  t.true(Math.abs(d.mean - 0.1) < 1e-12);
  t.true(Math.abs(d.high - d.low) < 1e-9, 'identical paired differences have no spread');
  t.deepEqual(result.deadEnds.filter((x) => x.method === 'rex-rag').map((x) => [x.step, x.mean]), [[1, 0.5], [2, 0.1]]);
  const probes = result.probes.find((p) => p.method === 'rex-rag')!;
  t.is(probes.generated.mean, 6);
  t.true(Math.abs(probes.generatedAccuracy.mean - 2 / 6) < 1e-12, 'probe EM is weighted by the probes of each step');
  t.is(result.compute.find((c) => c.method === 'rex-rag')!.sampledTokens.mean, 270);
  t.is(result.compute.find((c) => c.method === 'grpo')!.trainSeconds.mean, 10);
});

test('rexrag experiment runs two seeds at test scale, adds a method to finished seeds, and never reruns finished work', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-experiment-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['experiment', '--scale', 'test', '--seeds', '2', '--regime', 'dead-ends', '--dir', dir, '--parallel', '2'];
  const first = await runCli(args);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /regime dead-ends, seeds 1,2, step 2/);
  t.regex(first.stdout, /multi +rex-rag +[0-9.]+ \[[-0-9.]+, [-0-9.]+\] +- GRPO/);
  t.regex(first.stdout, /rex-rag +dead ends step 1 [0-9.]+ -> step 2 [0-9.]+; probes kept/);
  const result = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentResult;
  t.deepEqual(result.seeds, [1, 2]);
  t.true(result.differences.every((d) => d.n === 2 && d.method === 'rex-rag'));
  t.true(result.compute.every((c) => c.sampledTokens.mean > 0 && c.trainSeconds.mean > 0));
  t.regex(readFileSync(join(dir, 'experiment-multi-hop.svg'), 'utf8'), /<svg[\s\S]*REX-RAG[\s\S]*<\/svg>/);
  const mtime = (...path: string[]) => statSync(join(dir, ...path)).mtimeMs;
  const warm = mtime('seed-1', 'warm-start.json');
  const grpo = mtime('seed-1', 'runs', 'grpo', 'lab-result.json');

  const more = await runCli([...args, '--methods', 'rex-rag,rex-rag-coarse']);
  t.is(more.code, 0, more.stderr);
  t.is(mtime('seed-1', 'warm-start.json'), warm, 'the warm start is kept');
  t.is(mtime('seed-1', 'runs', 'grpo', 'lab-result.json'), grpo, 'a finished method is kept');
  const extended = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentResult;
  t.deepEqual(extended.methods, ['grpo', 'rex-rag', 'rex-rag-coarse']);
  t.true(extended.differences.some((d) => d.method === 'rex-rag-coarse' && d.n === 2));

  const summary = mtime('seed-1', 'summary.json');
  const again = await runCli([...args, '--methods', 'rex-rag,rex-rag-coarse']);
  t.is(again.code, 0, again.stderr);
  t.is(mtime('seed-1', 'summary.json'), summary, 'a finished seed is not rerun');
  const rexBefore = mtime('seed-1', 'runs', 'rex-rag', 'lab-result.json');
  const lab = await runCli([...args, '--methods', 'rex-rag', '--probe-pool', 'lab']);
  t.is(lab.code, 0, lab.stderr);
  t.is(mtime('seed-1', 'runs', 'grpo', 'lab-result.json'), grpo, 'GRPO does not depend on the probe pool');
  t.not(mtime('seed-1', 'runs', 'rex-rag', 'lab-result.json'), rexBefore, 'REX-RAG runs again with the other pool');
  const labSummary = JSON.parse(readFileSync(join(dir, 'seed-1', 'summary.json'), 'utf8')) as { probePool: string; setting: [string, string][] };
  t.is(labSummary.probePool, 'lab');
  t.regex(labSummary.setting.find(([name]) => name === 'REX-RAG probes')![1], /lab's exploration prompt pool \(<search>\)/);
  const bad = await runCli(['experiment', '--regime', 'easy']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--regime must be one of default, dead-ends/);
  const unknown = await runCli(['experiment', '--methods', 'grpo,ppo']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown method "ppo"/);
  const pool = await runCli(['experiment', '--probe-pool', 'english']);
  t.is(pool.code, 2);
  t.regex(pool.stderr, /--probe-pool must be one of paper, lab/);
});
