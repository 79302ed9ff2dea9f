// Two small run folders as `rexrag train` writes them (config.json, metrics.jsonl, samples/), with smooth noisy
// curves, for the dashboard's tests and its README screenshot. Deterministic.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { mulberry32 } from '../../lib/util/random.js';
import type { TrajectorySample } from '../../lib/train/run-samples.js';

export const FIXTURE_RUNS = ['grpo', 'rex-rag'] as const;

/** The metrics line of `step` of a fixture run (REX-RAG learns a little faster and has probes). */
export function fixtureLine(run: string, step: number): Record<string, number> {
  const random = mulberry32(step * 31 + run.length);
  const noise = () => (random() - 0.5) * 0.08;
  const rex = run === 'rex-rag';
  const progress = 1 - Math.exp(-step / (rex ? 14 : 18));
  const reward = 0.2 + 0.55 * progress + noise();
  const probes = rex ? Math.round(8 * (1 - progress) + 1) : 0;
  return {
    step,
    'reward/mean': reward,
    'deadend/rate': Math.max(0, 0.45 - 0.4 * progress + noise()),
    'probe/generated': probes,
    'probe/kept': rex ? Math.min(probes, 2) : 0,
    'probe/kept_accuracy': rex ? 0.3 + 0.3 * progress + noise() : 0,
    'train/loss': 0.05 * Math.exp(-step / 20) + noise() / 10,
    'train/kl': 0.002 * progress + Math.abs(noise()) / 100,
    'train/grad_norm': 0.8 + noise() * 3,
    'train/original/ratio_mean': 1 + noise() / 10,
    'time/step_s': 4 + random(),
    wall_time: 1_764_600_000 + step * 5,
  };
}

const PROBE: TrajectorySample = {
  step: 10, phase: 'train', question: 'where was the director of kavoru born ?', golds: ['tosa'], dataSource: 'director-birthplace/2',
  reward: 1, isProbe: true, kept: true, finishReason: 'answer',
  segments: [
    { kind: 'model', text: '<search> kavoru directed </search>' },
    { kind: 'information', text: '\n\n<information>Doc 1(Title: kavoru) kavoru is a film directed by zemilo .</information>\n\n' },
    { kind: 'probe-prompt', text: '<think> Wait, I should check who that person is first. </think>' },
    { kind: 'model', text: '<search> zemilo born </search>' },
    { kind: 'information', text: '\n\n<information>Doc 1(Title: zemilo) zemilo was born in tosa .</information>\n\n' },
    { kind: 'model', text: '<answer> tosa </answer>' },
  ],
};

const ORIGINAL: TrajectorySample = {
  step: 10, phase: 'train', question: 'where was kavoru born ?', golds: ['zemilo'], dataSource: 'born-in/1', reward: 0, isProbe: false, finishReason: 'answer',
  segments: [
    { kind: 'model', text: '<search> kavoru born </search>' },
    { kind: 'information', text: '\n\n<information>Doc 1(Title: kavoru) kavoru was born in zemilo .</information>\n\n' },
    { kind: 'model', text: '<answer> <b>kavoru</b> </answer>' },
  ],
};

/** Writes `root/grpo` and `root/rex-rag` with `steps` metrics lines each; REX-RAG also gets a samples file at step 10. */
export function writeFixtureRuns(root: string, steps: number): string[] {
  return FIXTURE_RUNS.map((run) => {
    const dir = join(root, run);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ algorithm: run, steps: 60, questionsPerStep: 16, groupSize: 5 }, null, 2)}\n`);
    writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: steps }, (_, i) => `${JSON.stringify(fixtureLine(run, i + 1))}\n`).join(''));
    if (run === 'rex-rag') {
      mkdirSync(join(dir, 'samples'), { recursive: true });
      writeFileSync(join(dir, 'samples', 'step-00000010.jsonl'), `${JSON.stringify(PROBE)}\n${JSON.stringify(ORIGINAL)}\n`);
    }
    return dir;
  });
}

/** Appends text to a run's metrics.jsonl (a whole line, or part of one). */
export function appendMetrics(dir: string, text: string): void {
  appendFileSync(join(dir, 'metrics.jsonl'), text);
}
