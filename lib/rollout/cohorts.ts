// Overlapping retrieval with generation: the questions are split into cohorts, each with its own generation
// session, and the cohorts' rollout loops run concurrently. Generate calls still run one at a time (the torch
// queue), so while one cohort waits for its search results, another cohort's turn is generating.
import { parseConfig } from '../config/resolve-config.js';
import { rolloutConfigSchema } from '../config/rollout-config.js';
import type { GenerationSession } from '../model/generation-types.js';
import { expectInteger } from '../validate.js';
import { runRolloutLoop } from './rollout-loop.js';
import type { RolloutOptions, Trajectory } from './rollout-types.js';

export interface CohortRolloutOptions extends Omit<RolloutOptions, 'session'> {
  /** Makes one session per cohort (sessions are busy while they generate, so cohorts cannot share one). */
  createSession: () => GenerationSession;
  /**
   * Data parallel: `questions` are the whole step's, split into `rollout.cohorts × worldSize` cohorts; this rank
   * runs cohorts c with ⌊c·worldSize / cohorts⌋ = rank (whole groups, contiguous). Each cohort keeps its global
   * number as its sample stream, so the ranks together produce exactly the trajectories one process produces with
   * `rollout.cohorts × worldSize` cohorts. Default: one rank.
   */
  shard?: { rank: number; worldSize: number };
}

/**
 * runRollouts over `rollout.cohorts` cohorts of questions, concurrently. The output is ordered as runRollouts orders it (all
 * originals in question order, then all probes), with rowId / probeOf renumbered to that order.
 */
export async function runRolloutsInCohorts(options: CohortRolloutOptions): Promise<Trajectory[]> {
  const { createSession, shard, ...rest } = options;
  const rollout = parseConfig(rolloutConfigSchema, options.rollout ?? {}, 'options.rollout');
  const worldSize = shard ? expectInteger(shard.worldSize, 'options.shard.worldSize', { min: 1 }) : 1;
  const rank = shard ? expectInteger(shard.rank, 'options.shard.rank', { min: 0, max: worldSize - 1 }) : 0;
  if (shard && rest.questions.length < worldSize) {
    throw new RangeError(`options.questions has ${rest.questions.length} questions, fewer than the ${worldSize} ranks`);
  }
  const cohorts = Math.min(rollout.cohorts * worldSize, Math.max(1, rest.questions.length));
  const parts: RolloutOptions['questions'][] = Array.from({ length: cohorts }, () => []);
  rest.questions.forEach((question, i) => parts[Math.floor((i * cohorts) / rest.questions.length)]!.push(question));
  const mine = parts.map((questions, stream) => ({ questions, stream })).filter(({ stream }) => Math.floor((stream * worldSize) / cohorts) === rank);
  const sessions = mine.map(() => createSession());
  try {
    const results = await Promise.all(mine.map(({ questions, stream }, c) => runRolloutLoop({ ...rest, questions, session: sessions[c]! }, rollout, stream)));
    // Renumber: originals of every cohort first (question order), then probes.
    const originals = results.flatMap((trajectories, c) => trajectories.filter((t) => !t.isProbe).map((t) => ({ t, c })));
    const probes = results.flatMap((trajectories, c) => trajectories.filter((t) => t.isProbe).map((t) => ({ t, c })));
    const newId = new Map<string, number>();
    [...originals, ...probes].forEach(({ t, c }, index) => newId.set(`${c}:${t.rowId}`, index));
    return [...originals, ...probes].map(({ t, c }) => ({
      ...t,
      rowId: newId.get(`${c}:${t.rowId}`)!,
      probeOf: t.probeOf === null ? null : newId.get(`${c}:${t.probeOf}`)!,
    }));
  } finally {
    for (const session of sessions) session.dispose();
  }
}

/** What runs rollouts: a policy with a tokenizer that opens generation sessions (lib/model's Policy). */
export interface RolloutPolicy {
  tokenizer?: CohortRolloutOptions['tokenizer'] | undefined;
  createSession(): GenerationSession;
}

/** runRolloutsInCohorts with the policy's own sessions and tokenizer (a policy without a tokenizer is an error). */
export async function policyRollouts(policy: RolloutPolicy, options: Omit<CohortRolloutOptions, 'createSession' | 'tokenizer'>): Promise<Trajectory[]> {
  const { tokenizer } = policy;
  if (!tokenizer) throw new TypeError('the policy needs a tokenizer (a model folder with tokenizer.json) to run rollouts');
  return runRolloutsInCohorts({ ...options, tokenizer, createSession: () => policy.createSession() });
}
