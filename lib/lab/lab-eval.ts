// Held-out evaluation of one model for the lab: sampled EM (with Wilson 95% intervals) and greedy EM on the test
// questions, per hop count, for multi-hop questions together and for all; plus the share of all-wrong groups.
import type { RlConfig } from '../config/rl-config.js';
import type { LabQuestion } from '../data/lab-world.js';
import { evaluate, evaluateSampled, wilsonInterval } from '../eval/evaluate.js';
import type { Policy } from '../model/policy.js';
import type { Retriever } from '../retrieval/types.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { SampleLog, trajectorySamples } from '../train/run-samples.js';

/** One row of summary.json. */
export interface LabEvalRow {
  method: string;
  step: number;
  split: 'test';
  /** 1, 2, 3, 'multi' (2 and 3) or 'all'. */
  hops: 1 | 2 | 3 | 'multi' | 'all';
  em: number;
  emLow: number;
  emHigh: number;
  samples: number;
  greedyEm: number;
  /** Share of questions whose sampled rollouts were all wrong. */
  allWrong: number;
  /** Mean searches per sampled rollout. */
  searches: number;
}

/** Evaluates `policy` on `questions`; rows for every hop group. */
export async function labEvaluate(options: {
  policy: Policy; retriever: Retriever; questions: LabQuestion[]; rollout: RlConfig['rollout']; samples: number; seed: number; method: string; step: number;
  /** A run folder that keeps a few of the greedy rollouts as this step's 'eval' samples (samples/step-N.jsonl). */
  samplesDir?: string;
}): Promise<LabEvalRow[]> {
  const { questions } = options;
  const sampled = await evaluateSampled({ ...options });
  const greedy = await evaluate({ ...options });
  // Per question id: its sampled rewards and searches, and its greedy EM (trajectories carry their question id).
  const byQuestion = new Map<string, { rewards: number[]; searches: number[]; greedy: number }>();
  for (const q of questions) byQuestion.set(q.id, { rewards: [], searches: [], greedy: 0 });
  sampled.trajectories.forEach((t, k) => {
    const entry = byQuestion.get(String(t.questionId))!;
    entry.rewards.push(sampled.rewards[k]!);
    entry.searches.push(t.searches.length);
  });
  for (const t of greedy.trajectories) byQuestion.get(String(t.questionId))!.greedy = scoreAnswer(t.responseText, t.golds, { metric: 'em' });
  if (options.samplesDir && options.policy.tokenizer) {
    await new SampleLog(options.samplesDir).add(options.step, trajectorySamples({
      step: options.step, phase: 'eval', trajectories: greedy.trajectories, count: 4, tokenizer: options.policy.tokenizer,
      rewards: greedy.trajectories.map((t) => byQuestion.get(String(t.questionId))!.greedy),
      questions: new Map(questions.map((q) => [q.id, q.question])),
    }));
  }
  const groups: [LabEvalRow['hops'], (q: LabQuestion) => boolean][] = [
    [1, (q) => q.hops === 1], [2, (q) => q.hops === 2], [3, (q) => q.hops === 3], ['multi', (q) => q.hops > 1], ['all', () => true],
  ];
  const rows: LabEvalRow[] = [];
  for (const [hops, keep] of groups) {
    const entries = questions.filter(keep).map((q) => byQuestion.get(q.id)!);
    if (entries.length === 0) continue;
    const rewards = entries.flatMap((e) => e.rewards);
    const searches = entries.flatMap((e) => e.searches);
    const hits = rewards.reduce((a, b) => a + b, 0);
    const [emLow, emHigh] = wilsonInterval(hits, rewards.length);
    const allWrong = entries.filter((e) => e.rewards.every((r) => r === 0)).length;
    const index = entries;
    rows.push({
      method: options.method, step: options.step, split: 'test', hops,
      em: hits / rewards.length, emLow, emHigh, samples: rewards.length,
      greedyEm: index.reduce((sum, e) => sum + e.greedy, 0) / index.length,
      allWrong: allWrong / index.length,
      searches: searches.reduce((a, b) => a + b, 0) / searches.length,
    });
  }
  return rows;
}
