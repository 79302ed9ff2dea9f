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
