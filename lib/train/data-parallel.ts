// The data-parallel side of an RL step. Each rank rolls out and scores its own whole groups; the ranks then
// exchange their scored trajectories (tokens, rewards, π_old log-probs: a few numbers per token, small next to
// the gradient all-reduce), so every rank builds the step's global data with the same code one process runs
// (step-batch.ts): the same probe filter over ALL probes, α, z, K, ρ, advantages and metrics, bit for bit. Each
// rank then trains on its own rows of that global batch; the trainer all-reduces the gradients.
import type { ProcessGroup } from '../distributed/process-group.js';
import { RexragError } from '../errors.js';
import { hashString } from '../util/hash.js';
import type { Trajectory } from '../rollout/rollout-types.js';
import type { TrajectoryBatch } from './grpo-trainer.js';

/** One rank's scored rollouts, as it sends them to the others. */
export interface RankRollouts {
  /** Ordered as the rollout runner orders them: originals, then probes; rowId = index. */
  trajectories: Trajectory[];
  rewards: number[];
  oldLogps: number[][];
  /** Probes the rank skipped for lack of context. */
  probesSkipped: number;
}

export interface JoinedRollouts extends RankRollouts {
  /** Per trajectory: whether this rank rolled it out (and trains on it). */
  local: boolean[];
}

/**
 * Every rank's rollouts in single-process order: the originals rank by rank, then the probes rank by rank, with
 * rowId and probeOf renumbered to that order. Ranks hold contiguous cohorts in rank order, so this is the order
 * one process running all the cohorts produces (rollout/cohorts.ts).
 */
export function joinRankRollouts(parts: readonly RankRollouts[], rank: number): JoinedRollouts {
  const entries = parts.flatMap((part, r) => part.trajectories.map((t, i) => ({ t, r, i })));
  const ordered = [...entries.filter((e) => !e.t.isProbe), ...entries.filter((e) => e.t.isProbe)];
  const globalId = new Map<string, number>();
  ordered.forEach((e, index) => globalId.set(`${e.r}:${e.t.rowId}`, index));
  return {
    trajectories: ordered.map((e) => ({
      ...e.t,
      rowId: globalId.get(`${e.r}:${e.t.rowId}`)!,
      probeOf: e.t.probeOf === null ? null : globalId.get(`${e.r}:${e.t.probeOf}`)!,
    })),
    rewards: ordered.map((e) => parts[e.r]!.rewards[e.i]!),
    oldLogps: ordered.map((e) => parts[e.r]!.oldLogps[e.i]!),
    probesSkipped: parts.reduce((sum, part) => sum + part.probesSkipped, 0),
    local: ordered.map((e) => e.r === rank),
  };
}

/** All-gathers every rank's scored rollouts and joins them (joinRankRollouts). */
export async function gatherRollouts(group: ProcessGroup, mine: RankRollouts): Promise<JoinedRollouts> {
  const plain: RankRollouts = { ...mine, oldLogps: mine.oldLogps.map((row) => Array.from(row)) };
  return joinRankRollouts(await group.allGatherJson(plain), group.rank);
}

/**
 * This rank's rows of the global batch (`local[k]`: row k is this rank's), with their global indices, for the
 * trainer's data-parallel step. A rank may hold no rows of a step's probes, but always holds its originals.
 */
export function localShare(batch: TrajectoryBatch, local: readonly boolean[]): TrajectoryBatch {
  if (local.length !== batch.ids.length) throw new RangeError(`local has ${local.length} flags but the batch has ${batch.ids.length} rows`);
  const rows = local.flatMap((mine, k) => (mine ? [k] : []));
  const pick = <T>(values: readonly T[] | undefined) => (values === undefined ? undefined : rows.map((k) => values[k]!));
  const share: TrajectoryBatch = {
    ids: pick(batch.ids)!,
    lossMask: pick(batch.lossMask)!,
    advantages: pick(batch.advantages)!,
    globalIndex: rows,
    globalRows: batch.ids.length,
  };
  for (const key of ['behaviourLogps', 'refLogps', 'tokenKinds', 'sequenceRatio'] as const) {
    const values = pick(batch[key] as unknown[] | undefined);
    if (values !== undefined) (share as unknown as Record<string, unknown>)[key] = values;
  }
  return share;
}

/**
 * Fails on every rank, naming the first rank that differs, unless all ranks run the same configuration on the
 * same questions from the same step (a rank started with other flags would otherwise train on other data).
 */
export async function checkRanksAgree(group: ProcessGroup, run: { config: unknown; questions: unknown; firstStep: number }): Promise<void> {
  const mine = { config: hashString(JSON.stringify(run.config)), questions: hashString(JSON.stringify(run.questions)), firstStep: run.firstStep };
  const all = await group.allGatherJson(mine);
  all.forEach((other, rank) => {
    for (const key of ['config', 'questions', 'firstStep'] as const) {
      if (other[key] !== all[0]![key]) {
        const what = key === 'firstStep' ? `starts at step ${other.firstStep} (rank 0: ${all[0]!.firstStep}; resume every rank from the same run folder)` : `has a different ${key === 'config' ? 'run configuration' : 'train question set'} than rank 0`;
        throw new RexragError(`data-parallel ranks disagree: rank ${rank} ${what}`, 'ERR_INVALID_ARG');
      }
    }
  });
}
