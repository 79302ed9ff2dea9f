// GRPO outcome advantages: one scalar reward per trajectory, normalised within its group (the question's rollouts).
// Broadcasting the scalar over a trajectory's tokens and masking it are left to the trainer.
import { describe, expectArray, expectBoolean, expectNumber, expectObject } from '../validate.js';

export type GroupId = string | number;

export interface GroupAdvantageOptions {
  /** Added to the group std before dividing. Default 1e-6 (verl's `epsilon`). */
  eps?: number;
  /** 'sample' divides by N−1 like torch.std (verl's choice); 'population' by N. Default 'sample'. */
  std?: 'sample' | 'population';
  /** false gives A = R − mean (Dr. GRPO, verl's `norm_adv_by_std_in_grpo=False`). Default true. */
  normalizeByStd?: boolean;
  /** A group whose rewards are all below this counts as all-zero (a dead end). Default 1e-6 (verl's threshold). */
  zeroThreshold?: number;
  /** A group whose rewards are all at least this counts as all-correct. Default 1. */
  correctThreshold?: number;
}

export interface GroupStats {
  groupId: GroupId;
  size: number;
  /** The mean and std used in the formula (0 and 1 for a group of one, see groupAdvantages). */
  mean: number;
  std: number;
  /** Every reward is below zeroThreshold: the group failed entirely (a "dead end"). */
  allZero: boolean;
  /** Every reward is at least correctThreshold. */
  allCorrect: boolean;
}

export interface GroupAdvantageResult {
  /** One advantage per input reward, in input order. */
  advantages: number[];
  /** One entry per distinct group id, in order of first appearance. */
  groups: GroupStats[];
  /** Groups with allZero: verl's `num_leq_threshold`. */
  allZeroGroups: number;
  allCorrectGroups: number;
}

/**
 * GRPO advantages, as verl's `core_algos.compute_grpo_outcome_advantage`:
 *   A_i = (R_i − mean_g) / (std_g + eps)   (normalizeByStd, the default)
 *   A_i =  R_i − mean_g                    (normalizeByStd = false)
 * where g is the group of trajectory i. std_g is unbiased (N−1) by default, like torch.std.
 *
 * A group of one follows verl exactly: its mean is taken as 0 and its std as 1, so A = R/(1 + eps) (or A = R
 * without std normalisation). It is not centred: a lone rollout keeps the sign of its reward.
 * A group whose rewards are all equal gets A = 0 for every member (std = 0; with eps = 0 too, 0 rather than NaN).
 */
export function groupAdvantages(
  rewards: readonly number[],
  groupIds: readonly GroupId[],
  options: GroupAdvantageOptions = {},
): GroupAdvantageResult {
  expectArray(rewards, 'rewards');
  expectArray(groupIds, 'groupIds');
  if (rewards.length !== groupIds.length) {
    throw new RangeError(`rewards and groupIds must have the same length, got ${rewards.length} and ${groupIds.length}`);
  }
  expectObject(options, 'options');
  const eps = expectNumber(options.eps ?? 1e-6, 'options.eps', { min: 0 });
  const stdKind = options.std ?? 'sample';
  if (stdKind !== 'sample' && stdKind !== 'population') {
    throw new RangeError(`options.std must be "sample" or "population", got ${describe(stdKind)}`);
  }
  const normalizeByStd = expectBoolean(options.normalizeByStd ?? true, 'options.normalizeByStd');
  const zeroThreshold = expectNumber(options.zeroThreshold ?? 1e-6, 'options.zeroThreshold');
  const correctThreshold = expectNumber(options.correctThreshold ?? 1, 'options.correctThreshold');
  rewards.forEach((reward, i) => {
    if (typeof reward !== 'number' || !Number.isFinite(reward)) {
      throw new TypeError(`rewards[${i}] must be a finite number, got ${describe(reward)}`);
    }
  });
  groupIds.forEach((id, i) => {
    if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new TypeError(`groupIds[${i}] must be a string or a finite number, got ${describe(id)}`);
    }
  });

  // Members per group, in order of first appearance. 1 and '1' are different groups.
  const members = new Map<string, { groupId: GroupId; indices: number[] }>();
  groupIds.forEach((id, i) => {
    const key = `${typeof id}:${id}`;
    let group = members.get(key);
    if (!group) members.set(key, (group = { groupId: id, indices: [] }));
    group.indices.push(i);
  });

  const advantages = new Array<number>(rewards.length).fill(0);
  const groups: GroupStats[] = [];
  for (const { groupId, indices } of members.values()) {
    const values = indices.map((i) => rewards[i]!);
    const n = values.length;
    let mean = 0;
    let std = 1;
    if (n > 1) {
      mean = values.reduce((sum, r) => sum + r, 0) / n;
      const squares = values.reduce((sum, r) => sum + (r - mean) ** 2, 0);
      std = Math.sqrt(squares / (stdKind === 'sample' ? n - 1 : n));
    }
    for (const i of indices) {
      const centred = rewards[i]! - mean;
      // With eps = 0 an all-equal group would be 0/0; its advantages are 0 (every centred reward is 0).
      advantages[i] = !normalizeByStd ? centred : std + eps === 0 ? 0 : centred / (std + eps);
    }
    groups.push({
      groupId,
      size: n,
      mean,
      std,
      allZero: values.every((r) => r < zeroThreshold),
      allCorrect: values.every((r) => r >= correctThreshold),
    });
  }
  return {
    advantages,
    groups,
    allZeroGroups: groups.filter((g) => g.allZero).length,
    allCorrectGroups: groups.filter((g) => g.allCorrect).length,
  };
}
