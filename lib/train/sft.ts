// Supervised warm-up (behaviour cloning) with the same native trainer: with advantage 1 and the behaviour
// log-probs equal to the current ones, the clipped objective's gradient is exactly that of token-mean
// cross-entropy on the masked tokens (the ratio is 1, inside the clip range, on the single update per batch).
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../util/atomic-file.js';
import { makeFolder } from '../util/make-folder.js';
import { mixSeed, seededPermutation } from '../util/random.js';
import { sftSequence, type SftDemo } from '../data/sft-demos.js';
import { RexragError } from '../errors.js';
import { loadPolicy, savePolicyFolder } from '../model/load-policy.js';
import type { Policy } from '../model/policy.js';
import { PROMPT_TEMPLATES, type PromptTemplate } from '../rollout/search-r1-prompt.js';
import { expectArray, expectInteger, expectNumber, expectObject, expectString } from '../validate.js';
import { latestCheckpoint, resumeFromCheckpoint, saveCheckpoint } from './checkpoint.js';
import { removeRunLeftovers, truncateMetrics } from './run-folder.js';
import { SampleLog, type TrajectorySample } from './run-samples.js';
import { GrpoTrainer } from './grpo-trainer.js';

export interface SftExample {
  ids: number[];
  /** 1 on tokens to imitate. */
  lossMask: number[];
}

export interface SftOptions {
  policy: Policy;
  examples: SftExample[];
  epochs: number;
  batchSize: number;
  lr: number;
  seed?: number;
  warmupSteps?: number;
  onStep?: (step: { step: number; epoch: number; nll: number; tokens: number }) => void;
}

/** Trains the policy to imitate the examples; returns the mean negative log-likelihood per step (before each update). */
export async function supervisedWarmup(options: SftOptions): Promise<number[]> {
  const { policy } = options;
  const examples = expectArray(options.examples, 'options.examples') as SftExample[];
  if (examples.length === 0) throw new RangeError('options.examples must not be empty');
  const epochs = expectInteger(options.epochs, 'options.epochs', { min: 1 });
  const batchSize = expectInteger(options.batchSize, 'options.batchSize', { min: 1 });
  const lr = expectNumber(options.lr, 'options.lr', { min: 0 });
  const trainer = await GrpoTrainer.create(policy, {
    reference: 'none',
    loss: { klType: 'none', aggregation: 'token-mean' },
    optimizer: { lr, weightDecay: 0, maxGradNorm: 1, warmupSteps: options.warmupSteps ?? 0 },
  });
  const losses: number[] = [];
  try {
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = seededPermutation(examples.length, epochSeed(options.seed ?? 0, epoch));
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = order.slice(start, start + batchSize).map((i) => examples[i]!);
        const ids = batch.map((e) => e.ids);
        const lossMask = batch.map((e) => e.lossMask);
        // On-policy (no behaviour log-probs): ratio 1, so the gradient is cross-entropy's; the trainer reports
        // the mean −log p of the trained tokens from the same forward pass.
        const metrics = await trainer.step({ ids, lossMask, advantages: batch.map(() => 1) });
        const tokens = metrics['train/tokens'];
        const nll = metrics['train/nll'];
        losses.push(nll);
        options.onStep?.({ step: ++step, epoch, nll, tokens });
      }
    }
  } finally {
    trainer.dispose();
  }
  return losses;
}

export interface SftRunOptions {
  /** The model folder to start from (a Hugging Face Qwen2 folder with its tokenizer). */
  modelDir: string;
  demos: SftDemo[];
  /** Output folder: model/ (the result), checkpoints/, metrics.jsonl, config.json. */
  outDir: string;
  promptTemplate?: PromptTemplate;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  warmupSteps?: number;
  schedule?: 'constant' | 'cosine';
  seed?: number;
  /** Save a checkpoint every N steps (0: only at the end). */
  checkpointEvery?: number;
  keepLast?: number;
  /** Continue from the latest checkpoint in outDir/checkpoints (same demonstrations and settings). */
  resume?: boolean;
  /** Demonstrations of the batch kept in outDir/samples/ at step 1 and at every checkpoint (default 4; 0: none). */
  samples?: number;
  /** Stop after this many steps in total (for tests and time budgets); default all epochs. */
  maxSteps?: number;
  onStep?: (step: { step: number; steps: number; epoch: number; nll: number; tokens: number; lr: number; seconds: number }) => void;
}

export interface SftRunResult {
  /** outDir/model */
  modelDir: string;
  /** Steps done in total (including those before a resume). */
  steps: number;
  /** The step this call started from (0, or the resumed checkpoint's). */
  startStep: number;
  /** NLL of each step this call ran. */
  nll: number[];
  seconds: number;
}

/** Settings stored in checkpoints; a resume must match them. */
interface SftSettings {
  demos: number;
  promptTemplate: PromptTemplate;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  schedule: 'constant' | 'cosine';
  seed: number;
}

/**
 * Behaviour cloning on demonstration trajectories with checkpoints, resume and metrics (what `rexrag sft` runs):
 * seeded per-epoch shuffles, batches of `batchSize`, AdamW with warm-up and a cosine (default) schedule, loss
 * on model tokens only. Writes one metrics.jsonl line per step and the final model to outDir/model.
 */
export async function runSft(options: SftRunOptions): Promise<SftRunResult> {
  const started = Date.now();
  expectObject(options, 'options');
  const modelDir = expectString(options.modelDir, 'options.modelDir', { nonEmpty: true });
  const outDir = expectString(options.outDir, 'options.outDir', { nonEmpty: true });
  const demos = expectArray(options.demos, 'options.demos') as SftDemo[];
  if (demos.length === 0) throw new RangeError('options.demos must not be empty');
  const settings: SftSettings = {
    demos: demos.length,
    promptTemplate: options.promptTemplate ?? 'search-r1',
    epochs: expectInteger(options.epochs ?? 1, 'options.epochs', { min: 1 }),
    batchSize: expectInteger(options.batchSize ?? 32, 'options.batchSize', { min: 1 }),
    lr: expectNumber(options.lr ?? 1e-3, 'options.lr', { min: 0 }),
    warmupSteps: expectInteger(options.warmupSteps ?? 0, 'options.warmupSteps', { min: 0 }),
    schedule: options.schedule ?? 'cosine',
    seed: expectInteger(options.seed ?? 0, 'options.seed', { min: 0 }),
  };
  if (!PROMPT_TEMPLATES.includes(settings.promptTemplate)) throw new RangeError(`options.promptTemplate must be one of ${PROMPT_TEMPLATES.join(', ')}`);
  if (settings.schedule !== 'constant' && settings.schedule !== 'cosine') throw new RangeError('options.schedule must be "constant" or "cosine"');
  const checkpointEvery = expectInteger(options.checkpointEvery ?? 0, 'options.checkpointEvery', { min: 0 });
  const perEpoch = Math.ceil(demos.length / settings.batchSize);
  const total = settings.epochs * perEpoch;
  const steps = Math.min(total, expectInteger(options.maxSteps ?? total, 'options.maxSteps', { min: 1 }));
  const checkpoints = join(outDir, 'checkpoints');
  const trainerOptions = {
    reference: 'none' as const,
    loss: { klType: 'none' as const, aggregation: 'token-mean' as const },
    optimizer: { lr: settings.lr, weightDecay: 0, maxGradNorm: 1, warmupSteps: settings.warmupSteps, schedule: settings.schedule, totalSteps: total, minLrRatio: 0.1 },
  };
  let policy: Policy;
  let trainer: GrpoTrainer;
  let startStep = 0;
  await removeRunLeftovers(outDir);
  const latest = options.resume ? await latestCheckpoint(checkpoints) : undefined;
  if (latest) {
    const resumed = await resumeFromCheckpoint(latest, { trainerOptions });
    const stored = resumed.state.config as SftSettings;
    const changed = (Object.keys(settings) as (keyof SftSettings)[]).filter((key) => stored?.[key] !== settings[key]);
    if (changed.length > 0) {
      resumed.trainer.dispose();
      resumed.policy.dispose();
      throw new RexragError(`cannot resume ${latest}: ${changed.map((k) => `${k} was ${JSON.stringify(stored?.[k])}, now ${JSON.stringify(settings[k])}`).join('; ')}`, 'ERR_INVALID_ARG');
    }
    policy = resumed.policy;
    trainer = resumed.trainer;
    startStep = resumed.state.step;
    // Steps after the checkpoint run again: their earlier lines go, so each step keeps one line.
    await truncateMetrics(join(outDir, 'metrics.jsonl'), startStep);
  } else {
    if (options.resume === false || options.resume === undefined) await rm(join(outDir, 'metrics.jsonl'), { force: true });
    policy = await loadPolicy(modelDir);
    trainer = await GrpoTrainer.create(policy, trainerOptions);
  }
  const nll: number[] = [];
  try {
    const tokenizer = policy.tokenizer;
    if (!tokenizer) throw new RexragError(`${modelDir} has no tokenizer`, 'ERR_INVALID_ARG');
    const examples = demos.map((demo) => sftSequence(demo, tokenizer, settings.promptTemplate));
    const sampleLog = new SampleLog(outDir);
    const sampleCount = expectInteger(options.samples ?? 4, 'options.samples', { min: 0 });
    await makeFolder(outDir);
    await writeFileAtomic(join(outDir, 'config.json'), `${JSON.stringify({ modelDir, ...settings, steps: total }, null, 2)}\n`);
    let order: number[] = [];
    let orderEpoch = -1;
    for (let step = startStep; step < steps; step++) {
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== orderEpoch) {
        order = seededPermutation(demos.length, epochSeed(settings.seed, epoch));
        orderEpoch = epoch;
      }
      const at = (step % perEpoch) * settings.batchSize;
      const batchIndex = order.slice(at, at + settings.batchSize);
      const batch = batchIndex.map((i) => examples[i]!);
      const metrics = await trainer.step({ ids: batch.map((e) => e.ids), lossMask: batch.map((e) => e.lossMask), advantages: batch.map(() => 1) });
      nll.push(metrics['train/nll']);
      const seconds = (Date.now() - started) / 1000;
      await appendFile(join(outDir, 'metrics.jsonl'), `${JSON.stringify({ step: step + 1, epoch, nll: metrics['train/nll'], tokens: metrics['train/tokens'], lr: metrics['train/lr'], seconds, wall_time: Date.now() / 1000 })}\n`);
      options.onStep?.({ step: step + 1, steps, epoch, nll: metrics['train/nll'], tokens: metrics['train/tokens'], lr: metrics['train/lr'], seconds });
      const last = step + 1 === steps;
      const checkpoint = last || (checkpointEvery > 0 && (step + 1) % checkpointEvery === 0);
      if (step === 0 || checkpoint) await sampleLog.add(step + 1, demoSamples(step + 1, batchIndex.slice(0, sampleCount).map((i) => demos[i]!)));
      if (checkpoint) {
        await saveCheckpoint(checkpoints, { policy, trainer, step: step + 1, config: settings, extra: { step: step + 1 }, keepLast: options.keepLast ?? 2 });
      }
    }
    await savePolicyFolder(policy, join(outDir, 'model'));
  } finally {
    trainer.dispose();
    policy.dispose();
  }
  return { modelDir: join(outDir, 'model'), steps, startStep, nll, seconds: (Date.now() - started) / 1000 };
}

/** Demonstrations as sample lines (the demonstrator's text, as trained on). */
function demoSamples(step: number, demos: readonly SftDemo[]): TrajectorySample[] {
  return demos.map((demo) => ({
    step, phase: 'demo', question: demo.question,
    ...(Array.isArray(demo.golds) ? { golds: demo.golds.map(String) } : {}),
    ...(typeof demo.data_source === 'string' ? { dataSource: demo.data_source } : {}),
    segments: demo.segments.map((s) => ({ kind: s.kind, text: s.text })),
  }));
}

/**
 * The shuffle seed of an epoch: seed × 7919 + epoch, the orders runs have always had, while that is exact; past
 * 2^53 neighbouring seeds would round together, so those go through splitmix64 instead.
 */
function epochSeed(seed: number, epoch: number): number {
  const legacy = seed * 7_919 + epoch;
  return Number.isSafeInteger(legacy) ? legacy : mixSeed(seed, epoch);
}

