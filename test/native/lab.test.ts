// The embedded lab end to end at test scale: world, index, tiny model, warm-up, GRPO and REX-RAG runs, report.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { runLab } from '../../lib/lab/run-lab.js';
import { runCli } from '../helpers/run-cli.js';

test('runLab trains GRPO and REX-RAG from one warm start and writes a report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-lab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stages: string[] = [];
  const result = await runLab({ dir, seed: 2, scale: 'test', onEvent: (e) => e.type === 'stage' && stages.push(e.stage) });
  t.deepEqual(stages, ['world', 'model', 'warm-up', 'grpo', 'rex-rag']);
  t.deepEqual(result.summary.runs.map((r) => r.algorithm), ['grpo', 'rex-rag']);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { rows: Record<string, unknown>[] };
  for (const run of result.summary.runs) {
    t.is(run.steps.length, 2);
    t.true(existsSync(join(dir, 'runs', run.algorithm, 'metrics.jsonl')));
    const rows = summary.rows.filter((r) => r.method === run.algorithm && r.hops === 'all');
    t.deepEqual(rows.map((r) => r.step), [0, 1, 2], 'the warm start and every checkpoint are evaluated');
    for (const row of rows) {
      t.true((row.emLow as number) <= (row.em as number) && (row.em as number) <= (row.emHigh as number));
      t.is(row.split, 'test');
      t.true((row.samples as number) > 0);
      t.is(typeof row.greedyEm, 'number');
    }
  }
  t.true(existsSync(join(dir, 'warm', 'model', 'model.safetensors')));
  t.true(existsSync(join(dir, 'demos.jsonl')));
  const html = readFileSync(result.reportPath, 'utf8');
  for (const title of ['Held-out sampled EM, multi-hop', 'Dead-end rate', 'Importance ratio']) t.regex(html, new RegExp(`<svg[\\s\\S]*${title}`), title);
  t.regex(html, /REX-RAG/);
  // Each run kept sample trajectories (step 1), and the report shows some.
  // Evaluations keep theirs too (the warm start's in warm/).
  for (const run of result.summary.runs) {
    const phases = readFileSync(join(dir, 'runs', run.algorithm, 'samples', 'step-00000001.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { phase: string }).phase);
    t.deepEqual([...new Set(phases)], ['train', 'eval'], run.algorithm);
  }
  t.true(existsSync(join(dir, 'warm', 'samples', 'step-00000000.jsonl')));
  t.regex(html, /Example trajectories[\s\S]*<div class="traj">[\s\S]*class="seg seg-model"/);
  t.notRegex(html, /<script/, 'the report is static');
});

test('rexrag demo --self-check prints the runtime; a bad --scale is refused', async (t) => {
  const check = await runCli(['demo', '--self-check']);
  t.is(check.code, 0, check.stderr);
  t.true(JSON.parse(check.stdout).matmul1024.gflops > 0);
  const bad = await runCli(['demo', '--scale', 'huge']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--scale must be demo or test/);
});
