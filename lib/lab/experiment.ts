// The multi-seed lab experiment: runs `rexrag demo` once per seed (child processes, a few at a time, resumable:
// a seed whose summary.json exists is not rerun), then aggregates held-out sampled EM over seeds per method, step
// and hop group (mean and t 95% interval) and the paired difference REX-RAG − GRPO on the same seeds.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RexragError } from '../errors.js';
import type { LabEvalRow } from './lab-eval.js';
import type { LabRegime, LabScale } from './lab-settings.js';

export interface ExperimentOptions {
  dir: string;
  seeds: number;
  regime: LabRegime;
  scale?: LabScale;
  /** Seeds run at once (each lab uses the runtime's threads). Default 1. */
  parallel?: number;
  onLine?: (line: string) => void;
}

export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
  n: number;
}

export interface ExperimentResult {
  regime: LabRegime;
  seeds: number[];
  /** Per method, step and hop group: sampled EM over seeds. */
  methods: ({ method: string; step: number; hops: LabEvalRow['hops'] } & MeanInterval)[];
  /** Per step and hop group: REX-RAG − GRPO sampled EM, paired by seed. */
  differences: ({ step: number; hops: LabEvalRow['hops'] } & MeanInterval)[];
  /** Every seed's rows. */
  rows: (LabEvalRow & { seed: number })[];
}

/** Two-sided 95% Student t quantiles for 1..30 degrees of freedom. */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and t 95% interval of `values` (the interval is the mean itself for one value). */
export function meanInterval(values: readonly number[]): MeanInterval {
  const n = values.length;
  if (n === 0) throw new RangeError('meanInterval needs at least one value');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, low: mean, high: mean, n };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half, n };
}

/** Aggregates per-seed lab rows (see ExperimentResult). */
export function aggregateExperiment(regime: LabRegime, rows: (LabEvalRow & { seed: number })[]): ExperimentResult {
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const key = (r: { step: number; hops: LabEvalRow['hops'] }) => `${r.step}|${r.hops}`;
  const methods: ExperimentResult['methods'] = [];
  const differences: ExperimentResult['differences'] = [];
  const cells = [...new Set(rows.map(key))];
  for (const cell of cells) {
    const [stepText, hopsText] = cell.split('|');
    const step = Number(stepText);
    const hops = (/^\d$/.test(hopsText!) ? Number(hopsText) : hopsText) as LabEvalRow['hops'];
    for (const method of ['grpo', 'rex-rag']) {
      const values = rows.filter((r) => r.method === method && key(r) === cell).map((r) => r.em);
      if (values.length > 0) methods.push({ method, step, hops, ...meanInterval(values) });
    }
    const paired = seeds.flatMap((seed) => {
      const g = rows.find((r) => r.seed === seed && r.method === 'grpo' && key(r) === cell);
      const x = rows.find((r) => r.seed === seed && r.method === 'rex-rag' && key(r) === cell);
      return g && x ? [x.em - g.em] : [];
    });
    if (paired.length > 0) differences.push({ step, hops, ...meanInterval(paired) });
  }
  return { regime, seeds, methods, differences, rows };
}

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'rexrag.js');

function runSeed(dir: string, seed: number, options: ExperimentOptions): Promise<void> {
  return new Promise((done, fail) => {
    const args = [cliPath, 'demo', '--dir', dir, '--seed', String(seed), '--scale', options.scale ?? 'demo', '--regime', options.regime];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-2000);
      for (const line of text.split('\n')) if (line.trim()) options.onLine?.(`[seed ${seed}] ${line}`);
    });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new RexragError(`the lab for seed ${seed} failed (exit ${code}): ${tail.trim().split('\n').pop()}`, 'ERR_IO'))));
  });
}

/** Runs (or resumes) the experiment and writes DIR/experiment.json. */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const dir = resolve(options.dir);
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new RangeError(`seeds must be a positive integer, got ${options.seeds}`);
  const parallel = Math.max(1, Math.floor(options.parallel ?? 1));
  await mkdir(dir, { recursive: true });
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const pending = seeds.filter((seed) => !existsSync(join(dir, `seed-${seed}`, 'summary.json')));
  const workers = Array.from({ length: Math.min(parallel, pending.length) }, async () => {
    for (let seed = pending.shift(); seed !== undefined; seed = pending.shift()) await runSeed(join(dir, `seed-${seed}`), seed, options);
  });
  await Promise.all(workers);
  const rows: (LabEvalRow & { seed: number })[] = [];
  for (const seed of seeds) {
    const summary = JSON.parse(await readFile(join(dir, `seed-${seed}`, 'summary.json'), 'utf8')) as { rows: LabEvalRow[] };
    rows.push(...summary.rows.map((row) => ({ ...row, seed })));
  }
  const result = aggregateExperiment(options.regime, rows);
  await writeFile(join(dir, 'experiment.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
