// The RL training loop, GRPO or REX-RAG (rex-rag-method.md §2–§5). Each step: sample questions, run multi-turn
// rollouts (REX-RAG: wrong answers may spawn probes with an exploration prompt spliced in), score rewards,
// recompute π_old, filter probes within the adaptive budget, correct the policy with the mixture behaviour
// log-probs, compute group advantages, and do one native GRPO step. Metrics go to events and to
// `metrics.jsonl`; checkpoints make a run resumable exactly. With a process group the step is data parallel
// (data-parallel.ts): each rank rolls out its share of the questions, every global quantity is computed from
// every rank's rollouts, and rank 0 alone evaluates and writes metrics and checkpoints.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parseConfig } from '../config/resolve-config.js';
import { rlConfigSchema, type RlConfigInput } from '../config/rl-config.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import { RexragError } from '../errors.js';
import { aggregateBySource, scoreTrajectories, sourceMetrics } from '../eval/by-source.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import { trimNativeMemory } from '../model/native-memory.js';
import type { Policy } from '../model/policy.js';
import type { Retriever } from '../retrieval/types.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { policyRollouts } from '../rollout/cohorts.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { makeFolder } from '../util/make-folder.js';
import { mixSeed, seededPermutation } from '../util/random.js';
import { createAlgorithm } from './algorithms/index.js';
import { latestCheckpoint, resumeFromCheckpoint, saveCheckpoint } from './checkpoint.js';
import { GrpoTrainer, loggedTrainMetrics } from './grpo-trainer.js';
import { checkRolloutRows } from './rollout-rows.js';
import { removeRunLeftovers, truncateMetrics } from './run-folder.js';
import { checkRanksAgree, gatherRollouts, localShare } from './data-parallel.js';
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
  /**
   * Data parallel: every rank of the group calls runRl with the same options. A step's questions are split
   * across the ranks by whole groups (rollout.cohorts cohorts per rank), and the run equals one process with
   * `rollout.cohorts × worldSize` cohorts. Rank 0 evaluates and writes metrics and checkpoints.
   */
  processGroup?: ProcessGroup;
  /** Resume a checkpoint written by a different number of ranks (the rollouts then follow the new split). */
  reshard?: boolean;
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
  const group = options.processGroup;
  const worldSize = group?.worldSize ?? 1;
  const leader = (group?.rank ?? 0) === 0;  // evaluates and writes the run folder
  if (config.questionsPerStep < worldSize) {
    throw new RexragError(`questionsPerStep (${config.questionsPerStep}) is smaller than the ${worldSize} ranks: every rank needs at least one question`, 'ERR_INVALID_ARG');
  }
  const evalQuestions = leader ? (options.evalQuestions ?? []).slice(0, config.eval.maxQuestions || undefined) : [];
  const checkpoints = options.runDir ? join(options.runDir, 'checkpoints') : undefined;
  if (leader && options.runDir) await removeRunLeftovers(options.runDir);
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
    const extra = resumed.state.extra as { step: number; rho: number; worldSize?: number };
    const savedWorldSize = extra.worldSize ?? 1;
    if (savedWorldSize !== worldSize && !options.reshard) {
      resumed.trainer.dispose();
      resumed.policy.dispose();
      throw new RexragError(
        `${resumeFrom} was written by a run of ${savedWorldSize} rank(s) but this run has ${worldSize}: resume with ${savedWorldSize} ` +
          `rank(s), or reshard (--reshard) to continue with ${worldSize} (the step's questions are then split differently)`,
        'ERR_INVALID_ARG',
      );
    }
    firstStep = extra.step;
    algorithmState = { rho: extra.rho };
    // Steps after the checkpoint run again: their earlier lines go, so each step keeps one line.
    if (leader) await truncateMetrics(join(options.runDir!, 'metrics.jsonl'), firstStep);
  } else {
    if (!options.policy) throw new TypeError('options.policy is required unless resuming from a checkpoint in runDir');
    policy = options.policy;
    trainer = await GrpoTrainer.create(policy, { ...config.trainer });
    // A fresh start writes every line again, step 0's evaluation included: lines of an earlier attempt (killed
    // before its first checkpoint) would be duplicates.
    if (leader && options.runDir) await truncateMetrics(join(options.runDir, 'metrics.jsonl'), -1);
  }
  if (group) {
    await checkRanksAgree(group, { config, questions: trainQuestions, firstStep });
    await trainer.setProcessGroup(group);  // every rank starts from rank 0's weights
  }
  const tokenizer = policy.tokenizer;
  if (!tokenizer) throw new TypeError('the policy needs a tokenizer (a model folder with tokenizer.json)');
  checkRolloutRows({ questions: config.questionsPerStep, groupSize: config.groupSize, cohorts: config.rollout.cohorts * worldSize, limits: policy.limits, groupName: 'groupSize' });
  const algorithm = createAlgorithm(config, tokenizer, algorithmState);
  if (leader && options.runDir) {
    await makeFolder(options.runDir);
    await writeFileAtomic(join(options.runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  const emit = (event: RlEvent) => options.onEvent?.(event);
  // wall_time (Unix seconds) lets a dashboard plot against time as well as steps.
  const record = async (entry: Record<string, unknown>) => {
    if (leader && options.runDir) await appendFile(join(options.runDir, 'metrics.jsonl'), `${JSON.stringify({ ...entry, wall_time: Date.now() / 1000 })}\n`);
  };
  const samples = leader && options.runDir && config.samples.count > 0 ? new SampleLog(options.runDir) : undefined;
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
    let trajectories = await policyRollouts(policy, {
      retriever, questions, groupSize: config.groupSize, rollout: config.rollout, seed: mixSeed(config.seed, step),
      onEvent: (event) => void (event.type === 'probe-skipped' && probesSkipped++),
      ...(hook ? { onAnswer: hook } : {}),
      ...(group ? { shard: { rank: group.rank, worldSize } } : {}),
    });
    const rolloutSeconds = (Date.now() - started) / 1000;
    let rewards = trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'em' }));
    emit({ type: 'phase', step, phase: 'score' });
    const sequences = trajectories.map((t) => [...t.promptTokens, ...t.responseTokens]);
    const { logps } = await policy.score(sequences, {
      lossMask: trajectories.map((t) => [...t.promptTokens.map(() => 0), ...t.lossMask]),
      temperature: config.trainer.loss.temperature,
    });
    let oldLogps: ArrayLike<number>[] = logps.map((row, i) => row.slice(trajectories[i]!.promptTokens.length));
    let isLocal = (_: unknown) => true;
    if (group) {  // every rank's scored rollouts, so each builds the global step data itself
      const joined = await gatherRollouts(group, { trajectories, rewards, oldLogps: oldLogps.map((row) => Array.from(row)), probesSkipped });
      ({ trajectories, rewards, oldLogps, probesSkipped } = joined);
      const mine = new Set(joined.trajectories.filter((_, i) => joined.local[i]));
      isLocal = (t) => mine.has(t as never);
    }
    const data = buildStepData({ trajectories, rewards, oldLogps, questionsPerStep: questions.length, groupSize: config.groupSize }, algorithm);
    emit({ type: 'phase', step, phase: 'train' });
    const trainStarted = Date.now();
    const batch = group ? localShare(data.batch, data.trained.map(isLocal)) : data.batch;
    const stepMetrics = await trainer.step(batch, { ...config.trainer.step, seed: config.trainer.step.seed + step });
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
    trimNativeMemory(); // the step's transient tensors are freed: give their pages back (README "Memory")
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
    if (leader && checkpoints && (last || (config.checkpoint.every > 0 && (step + 1) % config.checkpoint.every === 0))) {
      const dir = await saveCheckpoint(checkpoints, {
        policy, trainer, step: step + 1, config, rng: { seed: config.seed }, extra: { step: step + 1, ...algorithm.state(), worldSize }, keepLast: config.checkpoint.keepLast,
      });
      emit({ type: 'checkpoint', step: step + 1, dir });
    }
  }
  await runEval(config.steps);
  trainer.dispose();
  result.policy = policy;
  return result;
}
