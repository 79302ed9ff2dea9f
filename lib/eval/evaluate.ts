// Evaluation as the reference does it: the same multi-turn loop and retriever, greedy decoding, no probes, one
// rollout per question; exact match (and F1) of the last answer against the gold answers.
import type { RolloutConfigInput } from '../config/rollout-config.js';
import type { Policy } from '../model/policy.js';
import type { Retriever } from '../retrieval/types.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { policyRollouts } from '../rollout/cohorts.js';
import type { RolloutQuestion, Trajectory } from '../rollout/rollout-types.js';
import { mean } from '../util/stats.js';

export interface EvalResult {
  questions: number;
  em: number;
  f1: number;
  searchesMean: number;
  answeredRate: number;
  trajectories: Trajectory[];
}

/** Greedy rollouts of every question and their mean EM / F1. */
export async function evaluate(options: {
  policy: Policy;
  retriever: Retriever;
  questions: RolloutQuestion[];
  /** The rollout section (missing keys take the defaults); sampling is greedy whatever it says. */
  rollout?: RolloutConfigInput;
}): Promise<EvalResult> {
  const { policy, retriever, questions, rollout } = options;
  const greedy = { ...rollout, temperature: 0, topP: 1, topK: 0 };
  const trajectories = await policyRollouts(policy, { retriever, questions, groupSize: 1, rollout: greedy, seed: 0 });
  return {
    questions: questions.length,
    em: mean(trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'em' }))),
    f1: mean(trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'f1' }))),
    searchesMean: mean(trajectories.map((t) => t.searches.length)),
    answeredRate: mean(trajectories.map((t) => (t.finishReason === 'answer' ? 1 : 0))),
    trajectories,
  };
}

export interface SampledEvalResult {
  questions: number;
  /** Rollouts in total (questions × samples). */
  samples: number;
  /** Mean EM over every sampled rollout. */
  em: number;
  /** Wilson 95% interval of `em` over the samples. */
  emLow: number;
  emHigh: number;
  /** EM of each rollout, question-major (question i's samples at i·samples ...). */
  rewards: number[];
  trajectories: Trajectory[];
}

/**
 * Sampled evaluation: `samples` rollouts per question at the rollout temperature (no probes), with the mean EM and
 * its Wilson 95% interval. Greedy decoding (evaluate) can jump between checkpoints; this measures the policy.
 */
export async function evaluateSampled(options: {
  policy: Policy;
  retriever: Retriever;
  questions: RolloutQuestion[];
  rollout?: RolloutConfigInput;
  samples: number;
  seed: number;
}): Promise<SampledEvalResult> {
  const { policy, retriever, questions, rollout } = options;
  if (!Number.isInteger(options.samples) || options.samples < 1) throw new RangeError(`options.samples must be a positive integer, got ${options.samples}`);
  const trajectories = await policyRollouts(policy, { retriever, questions, groupSize: options.samples, rollout, seed: options.seed });
  const rewards = trajectories.map((t) => scoreAnswer(t.responseText, t.golds, { metric: 'em' }));
  const hits = rewards.reduce((a, b) => a + b, 0);
  const [emLow, emHigh] = wilsonInterval(hits, rewards.length);
  return { questions: questions.length, samples: rewards.length, em: rewards.length ? hits / rewards.length : 0, emLow, emHigh, rewards, trajectories };
}

/** The Wilson score interval of a proportion (`successes` of `n`) at z (default 1.96: 95%). [0, 1] when n is 0. */
export function wilsonInterval(successes: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  if (successes < 0 || successes > n) throw new RangeError(`successes (${successes}) must be within [0, n = ${n}]`);
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  // Clamped so the interval always holds p (rounding could otherwise put it just past p = 0 or 1).
  return [Math.max(0, Math.min(p, centre - half)), Math.min(1, Math.max(p, centre + half))];
}
