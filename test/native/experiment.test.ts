// `rexrag experiment` at test scale: two seeds end to end, aggregated per method with paired differences, and a
// rerun that resumes (finished seeds are not run again). The interval arithmetic is checked on known values.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { aggregateExperiment, meanInterval } from '../../lib/lab/experiment.js';
import type { LabEvalRow } from '../../lib/lab/lab-eval.js';
import { runCli } from '../helpers/run-cli.js';

test('meanInterval uses Student t; aggregateExperiment pairs methods by seed', (t) => {
  const m = meanInterval([0.4, 0.6]);
  t.is(m.mean, 0.5);
  t.true(Math.abs(m.high - (0.5 + 12.706 * (Math.SQRT2 * 0.1) / Math.SQRT2)) < 1e-9);
  t.deepEqual(meanInterval([0.3]), { mean: 0.3, low: 0.3, high: 0.3, n: 1 });
  t.throws(() => meanInterval([]), { message: /at least one/ });
  const row = (seed: number, method: string, em: number) => ({ seed, method, step: 10, split: 'test', hops: 'multi', em, emLow: 0, emHigh: 1, samples: 200, greedyEm: 0, allWrong: 0, searches: 2 }) as LabEvalRow & { seed: number };
  const result = aggregateExperiment('default', [row(1, 'grpo', 0.5), row(1, 'rex-rag', 0.6), row(2, 'grpo', 0.7), row(2, 'rex-rag', 0.8)]);
  t.deepEqual(result.seeds, [1, 2]);
  const d = result.differences.find((x) => x.hops === 'multi')!;
  t.true(Math.abs(d.mean - 0.1) < 1e-12);
  t.true(Math.abs(d.high - d.low) < 1e-9, 'identical paired differences have no spread');
});

test('rexrag experiment runs two seeds at test scale and resumes without rerunning them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-experiment-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['experiment', '--scale', 'test', '--seeds', '2', '--regime', 'dead-ends', '--dir', dir, '--parallel', '2'];
  const first = await runCli(args);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /regime dead-ends, seeds 1,2, step 2/);
  t.regex(first.stdout, /REX-RAG - GRPO/);
  const result = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as { seeds: number[]; differences: { n: number }[] };
  t.deepEqual(result.seeds, [1, 2]);
  t.true(result.differences.every((d) => d.n === 2));
  const before = statSync(join(dir, 'seed-1', 'summary.json')).mtimeMs;
  const again = await runCli(args);
  t.is(again.code, 0, again.stderr);
  t.is(statSync(join(dir, 'seed-1', 'summary.json')).mtimeMs, before, 'a finished seed is not rerun');
  const bad = await runCli(['experiment', '--regime', 'easy']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--regime must be one of default, dead-ends/);
});
