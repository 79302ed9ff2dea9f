// Sample trajectories a run keeps for people to read: a few per sampled step, in RUN/samples/step-NNNNNNNN.jsonl
// (one trajectory a line, its response cut into segments by who wrote them). Writing, reading and picking them;
// drawing them is lib/report/trajectory-html.ts's job.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { componentName } from '../algo/components.js';
import { RexragError } from '../errors.js';
import type { Trajectory } from '../rollout/rollout-types.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { makeFolder } from '../util/make-folder.js';

/** Who produced a stretch of a trajectory (the rollout's component names). */
export type SampleSegmentKind = 'model' | 'information' | 'invalid' | 'probe-prompt';

export interface SampleSegment {
  kind: SampleSegmentKind;
  text: string;
}

/** One line of a samples file. */
export interface TrajectorySample {
  /** The metrics step it belongs to (training rollouts of step N are written with N, as their metrics line). */
  step: number;
  /** 'train': a training rollout; 'eval': a greedy evaluation rollout; 'demo': an SFT demonstration. */
  phase: 'train' | 'eval' | 'demo';
  question: string;
  golds?: string[];
  dataSource?: string;
  /** Exact match of its answer (absent for demonstrations). */
  reward?: number;
  isProbe?: boolean;
  /** A probe kept by REX-RAG's filter (trained on). */
  kept?: boolean;
  finishReason?: string;
  segments: SampleSegment[];
}

/** The samples file of a step: samples/step-00000010.jsonl (8 digits, like checkpoints). */
export function samplesPath(runDir: string, step: number): string {
  return join(runDir, 'samples', `step-${String(step).padStart(8, '0')}.jsonl`);
}

const SAMPLE_FILE = /^step-(\d{8})\.jsonl$/;

/** Cuts a trajectory's response into segments of consecutive tokens with the same component, decoded. */
export function responseSegments(trajectory: Pick<Trajectory, 'responseTokens' | 'components'>, tokenizer: Pick<TextTokenizer, 'decode'>): SampleSegment[] {
  const segments: SampleSegment[] = [];
  let start = 0;
  const { responseTokens: tokens, components } = trajectory;
  for (let i = 1; i <= tokens.length; i++) {
    if (i < tokens.length && components[i] === components[start]) continue;
    const name = componentName(components[start]!);
    if (name !== 'prompt') segments.push({ kind: name as SampleSegmentKind, text: tokenizer.decode(tokens.slice(start, i)) });
    start = i;
  }
  return segments;
}

/**
 * A few trajectories worth reading from one step: probes first (up to half, kept ones and right answers first,
 * since they show the spliced prompt), then originals of distinct questions, alternating right and wrong answers.
 * Deterministic: the same inputs pick the same rows. Returns indices into `trajectories`.
 */
export function pickSampleIndices(trajectories: readonly Pick<Trajectory, 'isProbe' | 'questionId'>[], rewards: readonly number[], count: number, kept: ReadonlySet<number> = new Set()): number[] {
  if (count <= 0) return [];
  const probes = trajectories.flatMap((t, i) => (t.isProbe ? [i] : []));
  probes.sort((a, b) => Number(kept.has(b)) - Number(kept.has(a)) || (rewards[b] ?? 0) - (rewards[a] ?? 0) || a - b);
  const seen = new Set<string | number>();
  const right: number[] = [];
  const wrong: number[] = [];
  trajectories.forEach((t, i) => {
    if (t.isProbe || seen.has(t.questionId)) return;
    seen.add(t.questionId);
    ((rewards[i] ?? 0) > 0 ? right : wrong).push(i);
  });
  const originals: number[] = [];
  for (let k = 0; k < right.length || k < wrong.length; k++) {
    if (k < right.length) originals.push(right[k]!);
    if (k < wrong.length) originals.push(wrong[k]!);
  }
  // Up to half probes; either kind fills the places the other cannot.
  const probeCount = Math.min(probes.length, Math.max(Math.floor(count / 2), count - originals.length));
  return [...probes.slice(0, probeCount), ...originals.slice(0, count - probeCount)];
}

/** Sample lines of the chosen trajectories of one step. */
export function trajectorySamples(options: {
  step: number;
  phase: 'train' | 'eval';
  trajectories: readonly Trajectory[];
  rewards: readonly number[];
  questions: ReadonlyMap<string | number, string>;
  tokenizer: Pick<TextTokenizer, 'decode'>;
  count: number;
  kept?: ReadonlySet<number>;
}): TrajectorySample[] {
  const { trajectories, rewards } = options;
  return pickSampleIndices(trajectories, rewards, options.count, options.kept).map((i) => {
    const t = trajectories[i]!;
    return {
      step: options.step,
      phase: options.phase,
      question: options.questions.get(t.questionId) ?? String(t.questionId),
      golds: t.golds,
      ...(t.dataSource === undefined ? {} : { dataSource: t.dataSource }),
      reward: rewards[i] ?? 0,
      isProbe: t.isProbe,
      ...(t.isProbe ? { kept: options.kept?.has(i) ?? false } : {}),
      finishReason: t.finishReason,
      segments: responseSegments(t, options.tokenizer),
    };
  });
}

/**
 * The samples of a run, written as they come. `add` replaces, in its step's file, the samples of the phases it
 * brings and keeps the others, atomically: training and evaluation samples of a step share a file whoever writes
 * them (the RL loop, the lab's evaluations), and a resumed run that repeats a step replaces its samples.
 */
export class SampleLog {
  constructor(private readonly runDir: string) {}

  async add(step: number, samples: readonly TrajectorySample[]): Promise<void> {
    if (samples.length === 0) return;
    const phases = new Set(samples.map((s) => s.phase));
    let kept: TrajectorySample[] = [];
    try {
      kept = (await readSamples(this.runDir, step)).filter((s) => !phases.has(s.phase));
    } catch {
      // no file for this step yet
    }
    await makeFolder(join(this.runDir, 'samples'));
    await writeFileAtomic(samplesPath(this.runDir, step), [...kept, ...samples].map((s) => `${JSON.stringify(s)}\n`).join(''));
  }
}

/** Steps that have a samples file in the run folder, ascending; none when the folder has no samples/. */
export async function sampleSteps(runDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(join(runDir, 'samples'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = SAMPLE_FILE.exec(name);
    return match ? [Number(match[1])] : [];
  }).sort((a, b) => a - b);
}

const KINDS = new Set<string>(['model', 'information', 'invalid', 'probe-prompt']);

/** Whether a parsed line has the shape of a sample (question and segments); other fields are optional. */
function isSample(value: unknown): value is TrajectorySample {
  const v = value as Partial<TrajectorySample> | null;
  return v !== null && typeof v === 'object' && typeof v.question === 'string' && typeof v.step === 'number' && Array.isArray(v.segments) &&
    v.segments.every((s) => s !== null && typeof s === 'object' && KINDS.has(s.kind) && typeof s.text === 'string');
}

/**
 * The samples of one step. Lines that are not samples (a torn last line, a foreign line) are skipped; a missing
 * file is an ERR_INVALID_ARG naming it.
 */
export async function readSamples(runDir: string, step: number): Promise<TrajectorySample[]> {
  const path = samplesPath(runDir, step);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new RexragError(`no samples for step ${step}: ${path} does not exist`, 'ERR_INVALID_ARG');
  }
  return text.split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return isSample(value) ? [value] : [];
    } catch {
      return [];
    }
  });
}
