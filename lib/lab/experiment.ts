// The multi-seed lab experiment: runs `rexrag demo` once per seed (child processes, a few at a time, resumable:
// a seed whose summary.json holds every method is not rerun, and an unfinished seed keeps its warm start and
// finished methods), then aggregates over seeds per method (mean and t 95% interval): held-out sampled EM per
// step and hop group, its paired difference to GRPO on the same seeds, the dead-end rate per step, probe success,
// and compute (sampled tokens, training wall time).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RexragError } from '../errors.js';
import { emBandsSpec, type ChartSpec } from '../report/chart-specs.js';
import { renderFigure } from '../report/figures.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { LabEvalRow } from './lab-eval.js';
import type { LabMethod } from './lab-methods.js';
import type { LabProbePool, LabRegime, LabScale } from './lab-settings.js';
import { makeFolder } from '../util/make-folder.js';

export interface ExperimentOptions {
  dir: string;
  seeds: number;
  regime: LabRegime;
  /** Default GRPO and REX-RAG; GRPO is always run (the differences are paired against it). */
  methods?: readonly LabMethod[];
  scale?: LabScale;
  /** REX-RAG's exploration prompts (default 'paper'). */
  probePool?: LabProbePool;
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

type Hops = LabEvalRow['hops'];

/** One seed's outputs, as the experiment reads them back from its folder. */
export interface SeedOutcome {
  seed: number;
  rows: LabEvalRow[];
  /** Per method, its training steps' metrics (metrics.jsonl lines with a reward, in step order). */
  steps: Record<string, Record<string, number>[]>;
  /** Per method, training wall time in seconds (rollouts, updates, checkpoints; not the evaluations). */
  trainSeconds: Record<string, number>;
}

export interface ExperimentResult {
  regime: LabRegime;
  seeds: number[];
  methods: string[];
  /** Per method, step and hop group: held-out sampled EM over seeds. */
  em: ({ method: string; step: number; hops: Hops } & MeanInterval)[];
  /** Per method other than GRPO, step and hop group: method − GRPO sampled EM, paired by seed. */
  differences: ({ method: string; step: number; hops: Hops } & MeanInterval)[];
  /** Per method and training step: the dead-end rate (share of groups whose originals all failed) over seeds. */
  deadEnds: ({ method: string; step: number } & MeanInterval)[];
  /** Per method, over each seed's whole run: probes spawned and kept, their EM, and groups rescued by a kept probe. */
  probes: { method: string; generated: MeanInterval; kept: MeanInterval; generatedAccuracy: MeanInterval; keptAccuracy: MeanInterval; rescuedGroups: MeanInterval }[];
  /** Per method: tokens sampled during training and training wall time, per seed. */
  compute: { method: string; sampledTokens: MeanInterval; trainSeconds: MeanInterval }[];
  /** Every seed's evaluation rows. */
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

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Sum over steps of `key × weightKey` divided by the sum of `weightKey` (0 when nothing was weighted). */
function weightedRate(steps: Record<string, number>[], key: string, weightKey: string): number {
  const weight = sum(steps.map((m) => m[weightKey] ?? 0));
  return weight > 0 ? sum(steps.map((m) => (m[key] ?? 0) * (m[weightKey] ?? 0))) / weight : 0;
}

/** Aggregates per-seed outcomes (see ExperimentResult). */
export function aggregateExperiment(regime: LabRegime, methods: readonly string[], outcomes: readonly SeedOutcome[]): ExperimentResult {
  const seeds = outcomes.map((o) => o.seed).sort((a, b) => a - b);
  const rows = outcomes.flatMap((o) => o.rows.map((row) => ({ ...row, seed: o.seed })));
  const cellKey = (r: { step: number; hops: Hops }) => `${r.step}|${r.hops}`;
  const cells = [...new Map(rows.map((r) => [cellKey(r), { step: r.step, hops: r.hops }])).values()];
  const find = (seed: number, method: string, cell: { step: number; hops: Hops }) =>
    rows.find((r) => r.seed === seed && r.method === method && cellKey(r) === cellKey(cell));
  const result: ExperimentResult = { regime, seeds, methods: [...methods], em: [], differences: [], deadEnds: [], probes: [], compute: [], rows };

  for (const method of methods) {
    for (const cell of cells) {
      const values = rows.filter((r) => r.method === method && cellKey(r) === cellKey(cell)).map((r) => r.em);
      if (values.length > 0) result.em.push({ method, ...cell, ...meanInterval(values) });
      if (method === 'grpo') continue;
      const paired = seeds.flatMap((seed) => {
        const base = find(seed, 'grpo', cell);
        const other = find(seed, method, cell);
        return base && other ? [other.em - base.em] : [];
      });
      if (paired.length > 0) result.differences.push({ method, ...cell, ...meanInterval(paired) });
    }
    const runs = outcomes.flatMap((o) => (o.steps[method] ? [{ outcome: o, steps: o.steps[method]! }] : []));
    if (runs.length === 0) continue;
    const stepCount = Math.max(...runs.map((r) => r.steps.length));
    for (let k = 0; k < stepCount; k += 1) {
      const rates = runs.flatMap((r) => (r.steps[k] ? [r.steps[k]!['deadend/rate'] ?? 0] : []));
      result.deadEnds.push({ method, step: k + 1, ...meanInterval(rates) });
    }
    const perSeed = (f: (steps: Record<string, number>[]) => number) => meanInterval(runs.map((r) => f(r.steps)));
    result.probes.push({
      method,
      generated: perSeed((steps) => sum(steps.map((m) => m['probe/generated'] ?? 0))),
      kept: perSeed((steps) => sum(steps.map((m) => m['probe/kept'] ?? 0))),
      generatedAccuracy: perSeed((steps) => weightedRate(steps, 'probe/generated_accuracy', 'probe/generated')),
      keptAccuracy: perSeed((steps) => weightedRate(steps, 'probe/kept_accuracy', 'probe/kept')),
      rescuedGroups: perSeed((steps) => sum(steps.map((m) => m['probe/rescued_groups'] ?? 0))),
    });
    result.compute.push({
      method,
      sampledTokens: perSeed((steps) => sum(steps.map((m) => m['rollout/generated_tokens'] ?? 0))),
      trainSeconds: meanInterval(runs.map((r) => r.outcome.trainSeconds[method] ?? 0)),
    });
  }
  return result;
}

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'rexrag.js');

function runSeed(dir: string, seed: number, methods: readonly string[], options: ExperimentOptions): Promise<void> {
  return new Promise((done, fail) => {
    const args = [
      cliPath, 'demo', '--dir', dir, '--seed', String(seed), '--scale', options.scale ?? 'demo', '--regime', options.regime,
      '--methods', methods.join(','), '--probe-pool', options.probePool ?? 'paper', '--resume',
    ];
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

interface SeedSummary {
  rows: LabEvalRow[];
  probePool?: LabProbePool;
  runs?: { method: string; trainSeconds: number }[];
}

async function readSummary(seedDir: string): Promise<SeedSummary | undefined> {
  const path = join(seedDir, 'summary.json');
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as SeedSummary) : undefined;
}

/** A seed is finished when its summary has rows for every method, REX-RAG's with the requested probe pool. */
async function seedFinished(seedDir: string, methods: readonly string[], probePool: LabProbePool): Promise<boolean> {
  const summary = await readSummary(seedDir);
  if (!summary || !methods.every((m) => summary.rows.some((r) => r.method === m))) return false;
  return methods.every((m) => m === 'grpo') || (summary.probePool ?? 'paper') === probePool;
}

/** The training steps' metrics of one run (lines of metrics.jsonl with a training reward), in step order. */
async function readStepMetrics(runDir: string): Promise<Record<string, number>[]> {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.trim());
  const steps = lines.map((line) => JSON.parse(line) as Record<string, number>).filter((m) => 'reward/mean' in m);
  return steps.sort((a, b) => a.step! - b.step!);
}

async function readOutcome(seedDir: string, seed: number, methods: readonly string[]): Promise<SeedOutcome> {
  const summary = await readSummary(seedDir);
  if (!summary) throw new RexragError(`${seedDir}/summary.json is missing`, 'ERR_IO');
  const steps: SeedOutcome['steps'] = {};
  const trainSeconds: SeedOutcome['trainSeconds'] = {};
  for (const method of methods) {
    steps[method] = await readStepMetrics(join(seedDir, 'runs', method));
    const run = summary.runs?.find((r) => r.method === method);
    if (run) trainSeconds[method] = run.trainSeconds;
  }
  return { seed, rows: summary.rows.filter((r) => methods.includes(r.method)), steps, trainSeconds };
}

/** Runs (or resumes) the experiment and writes DIR/experiment.json. */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const dir = resolve(options.dir);
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new RangeError(`seeds must be a positive integer, got ${options.seeds}`);
  const requested = options.methods ?? ['grpo', 'rex-rag'];
  const methods = ['grpo', ...requested.filter((m) => m !== 'grpo')];
  const parallel = Math.max(1, Math.floor(options.parallel ?? 1));
  await makeFolder(dir);
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const seedDir = (seed: number) => join(dir, `seed-${seed}`);
  const pending: number[] = [];
  for (const seed of seeds) if (!(await seedFinished(seedDir(seed), methods, options.probePool ?? 'paper'))) pending.push(seed);
  const workers = Array.from({ length: Math.min(parallel, pending.length) }, async () => {
    for (let seed = pending.shift(); seed !== undefined; seed = pending.shift()) await runSeed(seedDir(seed), seed, methods, options);
  });
  await Promise.all(workers);
  const outcomes = await Promise.all(seeds.map((seed) => readOutcome(seedDir(seed), seed, methods)));
  const result = aggregateExperiment(options.regime, methods, outcomes);
  await writeFileAtomic(join(dir, 'experiment.json'), `${JSON.stringify(result, null, 2)}\n`);
  await renderFigure(experimentFigureSpec(result), join(dir, 'experiment-multi-hop.svg'));
  return result;
}

/**
 * The experiment's figure: held-out multi-hop sampled EM per step with its 95% band over seeds, one line per
 * method, and beside it each method's paired difference to GRPO on the same seeds.
 */
export function experimentFigureSpec(result: ExperimentResult): ChartSpec {
  const rows = (cells: readonly ({ method: string; step: number; hops: Hops } & MeanInterval)[]) =>
    cells.map((m) => ({ method: m.method, step: m.step, hops: m.hops, em: m.mean, emLow: m.low, emHigh: m.high }));
  const { $schema, ...em } = emBandsSpec(rows(result.em), { hops: 'multi', title: 'sampled EM (mean, 95% CI over seeds)', width: 380 });
  const { $schema: _, ...difference } = emBandsSpec(rows(result.differences), {
    hops: 'multi', title: 'paired difference to GRPO (95% CI)', width: 380, yTitle: 'method - GRPO', yDomain: null, zeroRule: true,
  });
  return {
    $schema,
    title: `Held-out multi-hop questions, ${result.regime} regime, ${result.seeds.length} seeds`,
    hconcat: [em, difference],
    resolve: { scale: { color: 'independent' } },
  } as ChartSpec;
}
