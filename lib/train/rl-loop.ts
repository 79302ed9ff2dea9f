// The RL training loop, GRPO or REX-RAG (rex-rag-method.md §2–§5). Each step: sample questions, run multi-turn
// rollouts (REX-RAG: wrong answers may spawn probes with an exploration prompt spliced in), score rewards,
// recompute π_old, filter probes within the adaptive budget, correct the policy with the mixture behaviour
// log-probs, compute group advantages, and do one native GRPO step. Metrics go to events and to
// `metrics.jsonl`; checkpoints make a run resumable exactly.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parseConfig } from '../config/resolve-config.js';
import { rlConfigSchema, type RlConfigInput } from '../config/rl-config.js';
import { RexragError } from '../errors.js';
import { aggregateBySource, scoreTrajectories, sourceMetrics } from '../eval/by-source.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import type { Policy } from '../model/policy.js';
import type { Retriever } from '../retrieval/types.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { policyRollouts } from '../rollout/cohorts.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';
import { mixSeed, seededPermutation } from '../util/random.js';
import { createAlgorithm } from './algorithms/index.js';
import { latestCheckpoint, resumeFromCheckpoint, saveCheckpoint } from './checkpoint.js';
import { GrpoTrainer, loggedTrainMetrics } from './grpo-trainer.js';
import { removeStaleTemporaries, truncateMetrics } from './run-folder.js';
import { SampleLog, trajectorySamples } from './run-samples.js';
import { buildStepData } from './step-batch.js';

export type RlEvent =
  | { type: 'step'; step: number; metrics: Record<string, number> }
  | { type: 'eval'; step: number; result: Omit<EvalResult, 'trajectories'> }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'phase'; step: number; phase: 'rollout' | 'score' | 'train' | 'eval' };

export interface RlRunOptions {
  /** The run configuration (rlConfigSchema): a parsed config or any subset of one; defaults fill the rest. */
  config: RlConfigInput;
  /** The policy to train; may be omitted when resuming (the checkpoint's policy is loaded). */
  policy?: Policy;
  retriever: Retriever;
  trainQuestions: RolloutQuestion[];
  evalQuestions?: RolloutQuestion[];
  /** Folder for config.json, metrics.jsonl and checkpoints/. */
  runDir?: string;
  /** Continue from the latest checkpoint in runDir/checkpoints. */
  resume?: boolean;
  onEvent?: (event: RlEvent) => void;
}

export interface RlRunResult {
  policy: Policy;
  evals: { step: number; em: number; f1: number; searchesMean: number; answeredRate: number }[];
  steps: { step: number; metrics: Record<string, number> }[];
}

/**
 * The questions of step `step`: consecutive slices of per-epoch seeded permutations of the train set (each
 * epoch's order seeded by (seed, epoch) through splitmix64, so any 53-bit seed gives its own orders).
 */
export function questionsForStep(questions: RolloutQuestion[], perStep: number, step: number, seed: number): RolloutQuestion[] {
  const orders = new Map<number, number[]>();
  const out: RolloutQuestion[] = [];
  for (let k = step * perStep; k < (step + 1) * perStep; k++) {
    const epoch = Math.floor(k / questions.length);
    let order = orders.get(epoch);
    if (order === undefined) orders.set(epoch, (order = seededPermutation(questions.length, mixSeed(seed, epoch))));
    const question = questions[order[k % questions.length]!]!;
    // A step that crosses an epoch boundary may draw a question twice: the second gets a distinct group id.
    out.push(out.some((q) => q.id === question.id) ? { ...question, id: `${question.id}#${k}` } : question);
  }
  return out;
}

/**
 * Runs `config.steps` RL steps; returns the trained policy with the metrics and evaluations. The config is
 * parsed here, once (missing keys take the schema's defaults); everything below trusts it.
 */
export async function runRl(options: RlRunOptions): Promise<RlRunResult> {
  const config = parseConfig(rlConfigSchema, options.config, 'options.config');
  const { retriever, trainQuestions } = options;
  if (!Array.isArray(trainQuestions) || trainQuestions.length === 0) throw new TypeError('options.trainQuestions must be a non-empty array of questions');
  if (config.questionsPerStep > trainQuestions.length) {
    throw new RexragError(`questionsPerStep (${config.questionsPerStep}) is larger than the ${trainQuestions.length} train questions`, 'ERR_INVALID_ARG');
  }
  const evalQuestions = (options.evalQuestions ?? []).slice(0, config.eval.maxQuestions || undefined);
  const checkpoints = options.runDir ? join(options.runDir, 'checkpoints') : undefined;
  if (options.runDir && checkpoints) {
    await removeStaleTemporaries(options.runDir);
    await removeStaleTemporaries(checkpoints);
  }
  const resumeFrom = options.resume && checkpoints ? await latestCheckpoint(checkpoints) : undefined;
  if (options.resume && !resumeFrom && !options.policy) {
    throw new RexragError(`nothing to resume: no checkpoint in ${checkpoints ?? 'the run (options.runDir is not set)'}`, 'ERR_INVALID_ARG');
  }
  let policy: Policy;
  let trainer: GrpoTrainer;
  let firstStep = 0;
  let algorithmState: { rho: number } | undefined;
  if (resumeFrom) {
    const resumed = await resumeFromCheckpoint(resumeFrom, { trainerOptions: { ...config.trainer } });
    policy = resumed.policy;
    trainer = resumed.trainer;
    const extra = resumed.state.extra as { step: number; rho: number };
    firstStep = extra.step;
    algorithmState = { rho: extra.rho };
    // Steps after the checkpoint run again: their earlier lines go, so each step keeps one line.
    await truncateMetrics(join(options.runDir!, 'metrics.jsonl'), firstStep);
  } else {
    if (!options.policy) throw new TypeError('options.policy is required unless resuming from a checkpoint in runDir');
    policy = options.policy;
    trainer = await GrpoTrainer.create(policy, { ...config.trainer });
  }
  const tokenizer = policy.tokenizer;
  if (!tokenizer) throw new TypeError('the policy needs a tokenizer (a model folder with tokenizer.json)');
  const algorithm = createAlgorithm(config, tokenizer, algorithmState);
  if (options.runDir) {
    await mkdir(options.runDir, { recursive: true });
    await writeFile(join(options.runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  const emit = (event: RlEvent) => options.onEvent?.(event);
  // wall_time (Unix seconds) lets a dashboard plot against time as well as steps.
  const record = async (entry: Record<string, unknown>) => {
    if (options.runDir) await appendFile(join(options.runDir, 'metrics.jsonl'), `${JSON.stringify({ ...entry, wall_time: Date.now() / 1000 })}\n`);
  };
  const samples = options.runDir && config.samples.count > 0 ? new SampleLog(options.runDir) : undefined;
  const questionText = new Map<string | number, string>([...trainQuestions, ...evalQuestions].map((q) => [q.id, q.question]));
  const result: RlRunResult = { policy, evals: [], steps: [] };
  const runEval = async (step: number) => {
    if (evalQuestions.length === 0) return;
    emit({ type: 'phase', step, phase: 'eval' });
    const { trajectories, ...summary } = await evaluate({ policy, retriever, questions: evalQuestions, rollout: config.rollout });
    result.evals.push({ step, em: summary.em, f1: summary.f1, searchesMean: summary.searchesMean, answeredRate: summary.answeredRate });
    emit({ type: 'eval', step, result: summary });
    await samples?.add(step, trajectorySamples({
      step, phase: 'eval', trajectories, rewards: trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'em' })),
      questions: questionText, tokenizer, count: config.samples.count,
    }));
    await record({ step, 'eval/em': summary.em, 'eval/f1': summary.f1, 'eval/searches_mean': summary.searchesMean, 'eval/answered_rate': summary.answeredRate, ...sourceMetrics(aggregateBySource(scoreTrajectories(trajectories))) });
  };

  if (firstStep === 0) await runEval(0);
  for (let step = firstStep; step < config.steps; step++) {
    const started = Date.now();
    const questions = questionsForStep(trainQuestions, config.questionsPerStep, step, config.seed);
    emit({ type: 'phase', step, phase: 'rollout' });
    const hook = algorithm.probeHook(step);
    let probesSkipped = 0;
    const trajectories = await policyRollouts(policy, {
      retriever, questions, groupSize: config.groupSize, rollout: config.rollout, seed: mixSeed(config.seed, step),
      onEvent: (event) => void (event.type === 'probe-skipped' && probesSkipped++),
      ...(hook ? { onAnswer: hook } : {}),
    });
    const rolloutSeconds = (Date.now() - started) / 1000;
    const rewards = trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'em' }));
    emit({ type: 'phase', step, phase: 'score' });
    const sequences = trajectories.map((t) => [...t.promptTokens, ...t.responseTokens]);
    const { logps } = await policy.score(sequences, {
      lossMask: trajectories.map((t) => [...t.promptTokens.map(() => 0), ...t.lossMask]),
      temperature: config.trainer.loss.temperature,
    });
    const oldLogps = logps.map((row, i) => row.slice(trajectories[i]!.promptTokens.length));
    const data = buildStepData({ trajectories, rewards, oldLogps, questionsPerStep: questions.length, groupSize: config.groupSize }, algorithm);
    emit({ type: 'phase', step, phase: 'train' });
    const trainStarted = Date.now();
    const stepMetrics = await trainer.step(data.batch, { ...config.trainer.step, seed: config.trainer.step.seed + step });
    const metrics: Record<string, number> = {
      ...data.metrics,
      'probe/skipped_context': probesSkipped,
      ...loggedTrainMetrics(stepMetrics),
      'time/rollout_s': rolloutSeconds,
      'time/train_s': (Date.now() - trainStarted) / 1000,
      'time/step_s': (Date.now() - started) / 1000,
    };
    result.steps.push({ step: step + 1, metrics });
    emit({ type: 'step', step: step + 1, metrics });
    await record({ step: step + 1, ...metrics });
    if (samples && config.samples.every > 0 && (step === 0 || (step + 1) % config.samples.every === 0)) {
      const kept = new Set(data.trained.filter((t) => t.isProbe));
      for (const q of questions) questionText.set(q.id, q.question);
      await samples.add(step + 1, trajectorySamples({
        step: step + 1, phase: 'train', trajectories, rewards, questions: questionText, tokenizer, count: config.samples.count,
        kept: new Set(trajectories.flatMap((t, i) => (kept.has(t) ? [i] : []))),
      }));
    }
    const last = step + 1 === config.steps;
    if (config.eval.every > 0 && (step + 1) % config.eval.every === 0 && !last) await runEval(step + 1);
    if (checkpoints && (last || (config.checkpoint.every > 0 && (step + 1) % config.checkpoint.every === 0))) {
      const dir = await saveCheckpoint(checkpoints, {
        policy, trainer, step: step + 1, config, rng: { seed: config.seed }, extra: { step: step + 1, ...algorithm.state() }, keepLast: config.checkpoint.keepLast,
      });
      emit({ type: 'checkpoint', step: step + 1, dir });
    }
  }
  await runEval(config.steps);
  trainer.dispose();
  result.policy = policy;
  return result;
}
